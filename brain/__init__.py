"""The live domain of Community Brain: cases, alarms, staff, dispatch, events. Never imports dash or plotly."""
