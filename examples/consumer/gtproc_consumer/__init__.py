"""An example consumer of gtproc's bus: counts each job's classes in DynamoDB, once per labeled object."""
