"""The district's past, replayed from the event log and the position track."""
