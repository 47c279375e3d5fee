"""The account-free local cloud: moto as the AWS API, a TLS registry posing as ECR, the real CDK CLI."""
