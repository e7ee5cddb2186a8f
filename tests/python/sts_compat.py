"""Drive the ssmform emulator's STS with Tencent's Python SDK, unchanged.

Run by tests/it/credentials_python.rs (through target/py-venv) with:
  SSM_ENDPOINT            host:port of the emulator (STS and SSM share it)
  TENCENTCLOUD_SECRET_ID  credentials it accepts
  TENCENTCLOUD_SECRET_KEY

Steps, one JSON line each ({"step": ..., "ok": true, ...}); exit 1 at the first mismatch:
  assume-role              StsClient.AssumeRole (TC3 for service sts), every response field typed
  temporary-keys-on-ssm    SsmClient with the temporary key and its token: create and read
  missing-token            the same key without its token: AuthFailure.TokenFailure
  web-identity-skip-sign   CommonClient, SkipSign (Authorization: SKIP), as the SDK's OIDC provider
  web-identity-signed      StsClient.AssumeRoleWithWebIdentity as the generated client sends it
  sdk-credential-classes   STSAssumeRoleCredential and OIDCRoleArnCredential fetching and using keys
  errors                   refusals raised as TencentCloudSDKException with STS's codes
"""

import base64
import json
import os
import sys
import time
from urllib.parse import quote

from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile import http_profile
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.ssm.v20190923 import models as ssm_models
from tencentcloud.ssm.v20190923 import ssm_client
from tencentcloud.sts.v20180813 import models, sts_client

ENDPOINT = os.environ["SSM_ENDPOINT"]
REGION = "ap-guangzhou"
ROLE = "qcs::cam::uin/100000000001:roleName/python-sdk"


class Mismatch(Exception):
    pass


def check(what, ok):
    if not ok:
        raise Mismatch(what)


def profile():
    return ClientProfile(httpProfile=HttpProfile(endpoint=ENDPOINT, protocol="http"))


def static():
    return credential.Credential(
        os.environ["TENCENTCLOUD_SECRET_ID"], os.environ["TENCENTCLOUD_SECRET_KEY"]
    )


def jwt(claims):
    def enc(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return enc({"alg": "RS256"}) + "." + enc(claims) + "." + enc({"sig": "none"})


def token():
    return jwt({"aud": "sts.tencentcloudapi.com", "sub": "repo:a/b", "exp": int(time.time()) + 600})


def expect_error(what, code, call):
    try:
        call()
    except TencentCloudSDKException as e:
        check("%s: code %r, want %r" % (what, e.get_code(), code), e.get_code() == code)
        check(what + ": a RequestId", bool(e.get_request_id()))
        return
    raise Mismatch(what + ": expected " + code)


def check_credentials(what, rsp, duration):
    c = rsp.Credentials
    check(what + ": TmpSecretId", c.TmpSecretId.startswith("AKID"))
    check(what + ": TmpSecretKey", len(c.TmpSecretKey) >= 16)
    check(what + ": Token", len(c.Token) >= 16)
    now = int(time.time())
    check(what + ": ExpiredTime %r" % rsp.ExpiredTime, abs(rsp.ExpiredTime - (now + duration)) <= 5)
    check(what + ": Expiration %r" % rsp.Expiration,
          rsp.Expiration.endswith("Z") and rsp.Expiration[10] == "T")
    check(what + ": RequestId", bool(rsp.RequestId))


def ssm(cred):
    return ssm_client.SsmClient(cred, REGION, profile())


def create_and_read(cred, name):
    r = ssm_models.CreateSecretRequest()
    r.SecretName = name
    r.VersionId = "v1"
    r.SecretString = "made with temporary keys"
    ssm(cred).CreateSecret(r)
    g = ssm_models.GetSecretValueRequest()
    g.SecretName = name
    g.VersionId = "v1"
    check(name + ": value read back",
          ssm(cred).GetSecretValue(g).SecretString == "made with temporary keys")


def assume_role(duration=900):
    req = models.AssumeRoleRequest()
    req.RoleArn = ROLE
    req.RoleSessionName = "python-sdk"
    req.DurationSeconds = duration
    req.Policy = quote(json.dumps({"version": "2.0", "statement": [
        {"effect": "allow", "action": ["name/ssm:*"], "resource": ["*"]}]}))
    req.ExternalId = "ext-python"
    return sts_client.StsClient(static(), REGION, profile()).AssumeRole(req)


def step_assume_role():
    rsp = assume_role()
    check_credentials("AssumeRole", rsp, 900)
    return {"expired_time": rsp.ExpiredTime}


def step_temporary_keys_on_ssm():
    c = assume_role().Credentials
    create_and_read(credential.Credential(c.TmpSecretId, c.TmpSecretKey, c.Token), "py-sts-assume-role")
    return {}


def step_missing_token():
    c = assume_role().Credentials
    g = ssm_models.GetSecretValueRequest()
    g.SecretName = "py-sts-assume-role"
    g.VersionId = "v1"
    expect_error("no token", "AuthFailure.TokenFailure",
                 lambda: ssm(credential.Credential(c.TmpSecretId, c.TmpSecretKey)).GetSecretValue(g))
    expect_error("wrong token", "AuthFailure.TokenFailure",
                 lambda: ssm(credential.Credential(c.TmpSecretId, c.TmpSecretKey, "other")).GetSecretValue(g))
    return {}


def step_web_identity_skip_sign():
    client = CommonClient("sts", "2018-08-13", None, REGION, profile=profile())
    rsp = client.call_json("AssumeRoleWithWebIdentity", {
        "ProviderId": "OIDC",
        "WebIdentityToken": token(),
        "RoleArn": ROLE,
        "RoleSessionName": "python-oidc",
        "DurationSeconds": 1200,
    }, options={"SkipSign": True})
    r = models.AssumeRoleWithWebIdentityResponse()
    r._deserialize(rsp["Response"])
    check_credentials("AssumeRoleWithWebIdentity (SkipSign)", r, 1200)
    c = r.Credentials
    create_and_read(credential.Credential(c.TmpSecretId, c.TmpSecretKey, c.Token), "py-sts-web-identity")
    return {}


def step_web_identity_signed():
    req = models.AssumeRoleWithWebIdentityRequest()
    req.ProviderId = "OIDC"
    req.WebIdentityToken = token()
    req.RoleArn = ROLE
    req.RoleSessionName = "python-oidc"
    rsp = sts_client.StsClient(static(), REGION, profile()).AssumeRoleWithWebIdentity(req)
    check_credentials("AssumeRoleWithWebIdentity", rsp, 7200)
    return {}


def step_sdk_credential_classes():
    # The SDK's credential classes build their own HttpProfile, always with the default
    # protocol (HTTPS); the emulator speaks plain HTTP, so make that the default here.
    defaults = list(http_profile.HttpProfile.__init__.__defaults__)
    defaults[0] = "http"
    http_profile.HttpProfile.__init__.__defaults__ = tuple(defaults)
    assumed = credential.STSAssumeRoleCredential(
        os.environ["TENCENTCLOUD_SECRET_ID"], os.environ["TENCENTCLOUD_SECRET_KEY"],
        ROLE, "python-class", 900, endpoint=ENDPOINT)
    create_and_read(assumed, "py-sts-class-assume-role")
    oidc = credential.OIDCRoleArnCredential(REGION, "OIDC", token(), ROLE, "python-class", 900,
                                            endpoint=ENDPOINT)
    create_and_read(oidc, "py-sts-class-oidc")
    check("OIDC credential has a token", bool(oidc.token))
    return {}


def step_errors():
    def bad_role():
        req = models.AssumeRoleRequest()
        req.RoleArn = "not-an-arn"
        req.RoleSessionName = "python-sdk"
        sts_client.StsClient(static(), REGION, profile()).AssumeRole(req)

    expect_error("bad RoleArn", "InvalidParameter.ParamError", bad_role)

    def bad_token():
        client = CommonClient("sts", "2018-08-13", None, REGION, profile=profile())
        client.call_json("AssumeRoleWithWebIdentity", {
            "ProviderId": "OIDC", "WebIdentityToken": "not.a-jwt", "RoleArn": ROLE,
            "RoleSessionName": "python-oidc"}, options={"SkipSign": True})

    expect_error("malformed token", "InvalidParameter.WebIdentityTokenError", bad_token)

    def wrong_key():
        cred = credential.Credential(os.environ["TENCENTCLOUD_SECRET_ID"], "wrong-key")
        req = models.AssumeRoleRequest()
        req.RoleArn = ROLE
        req.RoleSessionName = "python-sdk"
        sts_client.StsClient(cred, REGION, profile()).AssumeRole(req)

    expect_error("wrong key", "AuthFailure.SignatureFailure", wrong_key)
    return {}


STEPS = [
    ("assume-role", step_assume_role),
    ("temporary-keys-on-ssm", step_temporary_keys_on_ssm),
    ("missing-token", step_missing_token),
    ("web-identity-skip-sign", step_web_identity_skip_sign),
    ("web-identity-signed", step_web_identity_signed),
    ("sdk-credential-classes", step_sdk_credential_classes),
    ("errors", step_errors),
]


def main():
    for name, step in STEPS:
        try:
            extra = step()
        except (Mismatch, TencentCloudSDKException) as e:
            print(json.dumps({"step": name, "ok": False, "error": str(e)}))
            return 1
        line = {"step": name, "ok": True}
        line.update(extra)
        print(json.dumps(line))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
