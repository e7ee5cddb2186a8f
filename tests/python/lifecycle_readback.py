"""Read secrets back with Tencent's official Python SDK, unchanged: for each name given on the
command line, DescribeSecret's Status and Description, and whether ListSecrets with the tag
filters given in LIFECYCLE_TAGS (JSON {"key": "value"}) finds it (the SDK's only view of tags).

Run by tests/it/lifecycle.rs (through target/py-venv) with SSM_ENDPOINT (host:port of the
emulator), TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY. Prints one JSON object:
{"<name>": {"status": ..., "description": ..., "tagged": true|false}}.
"""

import json
import os
import sys

from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.ssm.v20190923 import models, ssm_client


def main():
    cred = credential.Credential(
        os.environ["TENCENTCLOUD_SECRET_ID"], os.environ["TENCENTCLOUD_SECRET_KEY"]
    )
    http = HttpProfile(endpoint=os.environ["SSM_ENDPOINT"], protocol="http")
    client = ssm_client.SsmClient(cred, "ap-guangzhou", ClientProfile(httpProfile=http))
    tags = json.loads(os.environ.get("LIFECYCLE_TAGS", "{}"))
    out = {}
    for name in sys.argv[1:]:
        req = models.DescribeSecretRequest()
        req.SecretName = name
        d = client.DescribeSecret(req)
        listing = models.ListSecretsRequest()
        listing.SearchSecretName = name
        filters = []
        for k, v in sorted(tags.items()):
            f = models.TagFilter()
            f.TagKey = k
            f.TagValue = [v]
            filters.append(f)
        listing.TagFilters = filters
        found = client.ListSecrets(listing)
        out[name] = {
            "status": d.Status,
            "description": d.Description,
            "tagged": any(m.SecretName == name for m in (found.SecretMetadatas or [])),
        }
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
