"""One construct per concern of the gtproc stack."""
