"""Drive the ssmform emulator with Tencent's official Python SDK, unchanged.

Run by tests/it/emulator_python.rs (through target/py-venv) with:
  SSM_ENDPOINT            host:port of the emulator
  TENCENTCLOUD_SECRET_ID  credentials it accepts
  TENCENTCLOUD_SECRET_KEY
  SSM_MODES               optional comma list of modes to run (default: all)

For each signing mode (TC3 POST, TC3 GET, TC3 POST with an unsigned payload, legacy HmacSHA256
POST, legacy HmacSHA1 GET) it goes
through create, put, get, update, describe, list, list versions, and errors raised as
TencentCloudSDKException with the right code. It prints one JSON line per mode and exits 1 at the
first mismatch, saying what differed.
"""

import base64
import json
import os
import sys

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.ssm.v20190923 import models, ssm_client

# mode: (HTTP method, signMethod, X-TC-Content-SHA256: UNSIGNED-PAYLOAD)
MODES = {
    "tc3-post": ("POST", "TC3-HMAC-SHA256", False),
    "tc3-get": ("GET", "TC3-HMAC-SHA256", False),
    "tc3-post-unsigned-payload": ("POST", "TC3-HMAC-SHA256", True),
    "legacy-sha256-post": ("POST", "HmacSHA256", False),
    "legacy-sha1-get": ("GET", "HmacSHA1", False),
}


class Mismatch(Exception):
    pass


def check(what, got, want):
    if got != want:
        raise Mismatch("%s: got %r, want %r" % (what, got, want))


def expect_error(what, code, call):
    try:
        call()
    except TencentCloudSDKException as e:
        check(what + " error code", e.get_code(), code)
        if not e.get_request_id():
            raise Mismatch(what + ": no RequestId on the exception")
        return
    raise Mismatch(what + ": expected TencentCloudSDKException " + code + ", got success")


def client(method, sign_method, unsigned_payload, secret_key=None):
    cred = credential.Credential(
        os.environ["TENCENTCLOUD_SECRET_ID"], secret_key or os.environ["TENCENTCLOUD_SECRET_KEY"]
    )
    http = HttpProfile(endpoint=os.environ["SSM_ENDPOINT"], protocol="http", reqMethod=method)
    profile = ClientProfile(signMethod=sign_method, httpProfile=http)
    profile.unsignedPayload = unsigned_payload
    return ssm_client.SsmClient(cred, "ap-guangzhou", profile)


def run(mode):
    method, sign_method, unsigned_payload = MODES[mode]
    c = client(method, sign_method, unsigned_payload)
    name = "py-" + mode
    text = "p@ss w0rd & = + / ü 密码"
    blob = base64.b64encode(bytes(range(256))).decode()

    r = models.CreateSecretRequest()
    r.SecretName = name
    r.VersionId = "v1"
    r.SecretString = text
    r.Description = "made by " + mode
    tag = models.Tag()
    tag.TagKey = "origin"
    tag.TagValue = "python sdk"
    r.Tags = [tag]
    resp = c.CreateSecret(r)
    check("CreateSecret.VersionId", resp.VersionId, "v1")
    check("CreateSecret.TagCode", resp.TagCode, 0)

    r = models.PutSecretValueRequest()
    r.SecretName = name
    r.VersionId = "v2"
    r.SecretBinary = blob
    check("PutSecretValue.VersionId", c.PutSecretValue(r).VersionId, "v2")

    r = models.GetSecretValueRequest()
    r.SecretName = name
    r.VersionId = "v1"
    resp = c.GetSecretValue(r)
    check("GetSecretValue v1 SecretString", resp.SecretString, text)
    check("GetSecretValue v1 SecretBinary", resp.SecretBinary, "")
    r.VersionId = "v2"
    resp = c.GetSecretValue(r)
    check("GetSecretValue v2 SecretBinary", resp.SecretBinary, blob)
    check("GetSecretValue v2 SecretString", resp.SecretString, "")

    r = models.UpdateSecretRequest()
    r.SecretName = name
    r.VersionId = "v1"
    r.SecretString = text + " (updated)"
    c.UpdateSecret(r)
    r = models.GetSecretValueRequest()
    r.SecretName = name
    r.VersionId = "v1"
    check("GetSecretValue after update", c.GetSecretValue(r).SecretString, text + " (updated)")

    r = models.DescribeSecretRequest()
    r.SecretName = name
    resp = c.DescribeSecret(r)
    check("DescribeSecret.Status", resp.Status, "Enabled")
    check("DescribeSecret.Description", resp.Description, "made by " + mode)
    check("DescribeSecret.RotationStatus", resp.RotationStatus, False)

    r = models.ListSecretVersionIdsRequest()
    r.SecretName = name
    check(
        "ListSecretVersionIds",
        [v.VersionId for v in c.ListSecretVersionIds(r).Versions],
        ["v1", "v2"],
    )

    r = models.ListSecretsRequest()
    r.SearchSecretName = name
    f = models.TagFilter()
    f.TagKey = "origin"
    f.TagValue = ["python sdk"]
    r.TagFilters = [f]
    resp = c.ListSecrets(r)
    check("ListSecrets.TotalCount", resp.TotalCount, 1)
    check("ListSecrets name", resp.SecretMetadatas[0].SecretName, name)

    r = models.GetSecretValueRequest()
    r.SecretName = name + "-missing"
    r.VersionId = "v1"
    expect_error("GetSecretValue of a missing secret", "ResourceNotFound", lambda: c.GetSecretValue(r))

    r2 = models.CreateSecretRequest()
    r2.SecretName = name
    r2.SecretString = "again"
    expect_error("CreateSecret twice", "ResourceInUse.SecretExists", lambda: c.CreateSecret(r2))

    r3 = models.DisableSecretRequest()
    r3.SecretName = name
    c.DisableSecret(r3)
    r = models.GetSecretValueRequest()
    r.SecretName = name
    r.VersionId = "v1"
    expect_error(
        "GetSecretValue of a disabled secret",
        "ResourceUnavailable.ResourceDisabled",
        lambda: c.GetSecretValue(r),
    )
    r4 = models.EnableSecretRequest()
    r4.SecretName = name
    c.EnableSecret(r4)

    # Credentials the emulator does not know.
    bad = client(method, sign_method, unsigned_payload, secret_key="wrong-key")
    expect_error("a wrong key", "AuthFailure.SignatureFailure", lambda: bad.GetSecretValue(r))

    # The generic call_json path, as scripts use it.
    resp = c.call_json("GetServiceStatus", {})
    check("GetServiceStatus.ServiceEnabled", resp["Response"]["ServiceEnabled"], True)


def main():
    wanted = [m for m in os.environ.get("SSM_MODES", ",".join(MODES)).split(",") if m]
    failed = False
    for mode in wanted:
        try:
            run(mode)
            print(json.dumps({"mode": mode, "ok": True}), flush=True)
        except (Mismatch, TencentCloudSDKException) as e:
            print(json.dumps({"mode": mode, "ok": False, "error": str(e)}), flush=True)
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
