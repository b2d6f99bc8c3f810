"""The Dash UI: views for the video wall, dispatchers and leaders."""
