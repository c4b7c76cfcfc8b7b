"""What every AWS reader and writer shares: boto3 clients that count their calls, the context of a scope, the
classification of botocore errors, and the kinds. Reads live in ``observed/aws``, writes in ``apply/aws``."""
