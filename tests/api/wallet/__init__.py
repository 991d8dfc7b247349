"""HTTP tests of wallet key binding."""
