"""AWS through boto3: one handler module per service, the Backend the engine drives, and the platform bootstrap."""
