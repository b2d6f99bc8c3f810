"""The field end of dispatch: a person's tasks, their acknowledgements, arrival and the photos of the work."""
