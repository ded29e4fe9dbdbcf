"""The ``governed-agents`` command line. One module per command group."""
