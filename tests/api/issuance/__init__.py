"""HTTP tests of the credential issuer's robustness."""
