"""Teams, people, duty status and live positions."""
