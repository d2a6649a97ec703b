"""Checks an otp-relay proof in a Python backend, with PyJWT and the relay's published keys.

    SITE_ORIGIN=https://shop.example RELAY_URL=https://verify.example.net \
        python3 verify_proof.py <proof>

prints the verified address and exits 0, or says why the proof is refused and exits 1. The keys
come from RELAY_URL/.well-known/jwks.json (JWKS_URL overrides it), cached by PyJWKClient. A proof
for one of the relay's review addresses (claim `review: true`: a fixed code, no email) is refused
unless ACCEPT_REVIEW_PROOFS=1, as a backend that takes real sign-ups should.
"""

import os
import sys

import jwt  # PyJWT with cryptography (pip install "pyjwt[crypto]", or Debian's python3-jwt)


def verified_email(
    proof: str,
    jwks: jwt.PyJWKClient,
    site_origin: str,
    relay_url: str,
    accept_review: bool = False,
) -> str:
    """The address a proof vouches for; raises jwt.PyJWTError when it does not."""
    key = jwks.get_signing_key_from_jwt(proof)  # the published key the proof's `kid` names
    claims = jwt.decode(
        proof,
        key.key,
        algorithms=["EdDSA"],  # only EdDSA: never "none", never HS256 with a public key
        audience=site_origin,  # minted for this site's pages only
        issuer=relay_url,
        leeway=0,
        options={"require": ["exp", "iss", "aud", "sub"]},
    )
    if claims.get("email_verified") is not True:
        raise jwt.InvalidTokenError("the address is not marked verified")
    if claims.get("review") is True and not accept_review:
        raise jwt.InvalidTokenError("a review address's proof (its code is fixed and known)")
    return claims["email"]


if __name__ == "__main__":
    relay = os.environ["RELAY_URL"]
    jwks_url = os.environ.get("JWKS_URL", relay.rstrip("/") + "/.well-known/jwks.json")
    try:
        email = verified_email(
            sys.argv[1],
            jwt.PyJWKClient(jwks_url),
            os.environ["SITE_ORIGIN"],
            relay,
            accept_review=os.environ.get("ACCEPT_REVIEW_PROOFS") == "1",
        )
    except jwt.PyJWTError as error:
        print(f"refused: {error}", file=sys.stderr)
        sys.exit(1)
    print(email)
