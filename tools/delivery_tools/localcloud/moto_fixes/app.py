"""The moto server the local cloud runs: moto's own server with the fixes a CDK deploy needs.

Run as `python -m delivery_tools.localcloud.moto_fixes.app --host 127.0.0.1 --port PORT` (moto's arguments).
"""

from moto import server

from delivery_tools.localcloud.moto_fixes import (
    cloudformation,
    ecr,
    ecr_images,
    kms,
    lambda_code,
    lambda_container,
    logs,
    ssm,
)

if __name__ == "__main__":
    for fix in (cloudformation, ecr, ecr_images, kms, lambda_code, lambda_container, logs, ssm):
        fix.install()
    server.main()
