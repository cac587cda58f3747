"""The demo: the whole system on embedded defaults, with a realistic Vietnamese data set."""
