"""gtproc: process Amazon SageMaker Ground Truth labeling job output as it lands."""

__version__ = "0.1.0"
