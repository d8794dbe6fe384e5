"""The CDK app of gtproc: `python app.py` or `cdk synth` from the repository root."""
