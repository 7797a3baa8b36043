"""The sandbox's HTTP routes, one module per audience."""
