"""Example experiments shipped with rpnkit (``rpnkit train NAME``); ``default`` is the digits example."""
