"""IoT alarms: raise, de-duplicate, acknowledge, clear."""
