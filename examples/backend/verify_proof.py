"""Checks an otp-relay proof in a Python backend, with PyJWT.

    OTP_RELAY_PROOF_SECRET=... SITE_ORIGIN=https://shop.example RELAY_URL=https://verify.example.net \
        python3 verify_proof.py <proof>

prints the verified address and exits 0, or says why the proof is refused and exits 1.
"""

import base64
import os
import sys

import jwt  # PyJWT (pip install pyjwt, or Debian's python3-jwt)


def verified_email(proof: str, secret: str, site_origin: str, relay_url: str) -> str:
    """The address a proof vouches for; raises jwt.InvalidTokenError when it does not."""
    key = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    claims = jwt.decode(
        proof,
        key,
        algorithms=["HS256"],  # only HS256: never "none", never another algorithm
        audience=site_origin,  # minted for this site's pages only
        issuer=relay_url,
        leeway=0,
        options={"require": ["exp", "iss", "aud", "sub"]},
    )
    if claims.get("email_verified") is not True:
        raise jwt.InvalidTokenError("the address is not marked verified")
    return claims["email"]


if __name__ == "__main__":
    try:
        email = verified_email(
            sys.argv[1],
            os.environ["OTP_RELAY_PROOF_SECRET"],
            os.environ["SITE_ORIGIN"],
            os.environ["RELAY_URL"],
        )
    except jwt.InvalidTokenError as error:
        print(f"refused: {error}", file=sys.stderr)
        sys.exit(1)
    print(email)
