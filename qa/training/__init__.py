"""Training the reading model (``make reader``); nothing at run time imports this package."""
