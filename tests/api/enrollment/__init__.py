"""HTTP tests of enrollment (OSIA, GovStack) and the registry."""
