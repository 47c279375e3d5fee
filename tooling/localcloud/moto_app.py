"""The moto server the local cloud runs: moto's own server with the fixes a CDK deploy needs.

Run as `python -m tooling.localcloud.moto_app --host 127.0.0.1 --port PORT` (moto's own arguments).
"""

from moto import server

from tooling.localcloud import moto_fixes_cloudformation, moto_fixes_ecr, moto_fixes_kms, moto_fixes_logs

if __name__ == "__main__":
    moto_fixes_cloudformation.install()
    moto_fixes_ecr.install()
    moto_fixes_kms.install()
    moto_fixes_logs.install()
    server.main()
