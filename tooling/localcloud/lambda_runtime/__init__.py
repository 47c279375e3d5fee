"""The image moto runs Lambda functions in: a Lambda Runtime API for custom (`provided.*`) runtimes."""
