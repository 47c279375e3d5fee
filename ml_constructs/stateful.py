"""The marker that tells reviews and tools which resources hold state (data or keys) that a replacement loses.

Put on the CloudFormation resource's own `Metadata`, so it travels with the template: a review of any
synthesized or deployed template finds stateful resources without guessing from stack or resource names.
"""

from aws_cdk import CfnResource
from constructs import IConstruct

STATEFUL_METADATA_KEY = "model-delivery:stateful"


def mark_stateful(construct: IConstruct, reason: str) -> None:
    """Mark every CloudFormation resource under `construct`; `reason` says what a replacement would lose."""
    for child in construct.node.find_all():
        if isinstance(child, CfnResource):
            child.add_metadata(STATEFUL_METADATA_KEY, reason)
