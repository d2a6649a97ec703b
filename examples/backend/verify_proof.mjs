// Checks an otp-relay proof in a Node backend, with jose and the relay's published keys.
//
//     SITE_ORIGIN=https://shop.example RELAY_URL=https://verify.example.net \
//         node verify_proof.mjs <proof>
//
// prints the verified address and exits 0, or says why the proof is refused and exits 1. The
// keys come from RELAY_URL/.well-known/jwks.json (JWKS_URL overrides it); createRemoteJWKSet
// caches them and fetches again when a proof names a key it has not seen. A proof for one of the
// relay's review addresses (claim `review: true`: a fixed code, no email) is refused unless
// ACCEPT_REVIEW_PROOFS=1, as a backend that takes real sign-ups should.
import { createRemoteJWKSet, jwtVerify } from "jose";

const relay = process.env.RELAY_URL;
const jwks = createRemoteJWKSet(
  new URL(process.env.JWKS_URL ?? `${relay.replace(/\/$/, "")}/.well-known/jwks.json`),
);

export async function verifiedEmail(proof, siteOrigin, acceptReview = false) {
  const { payload } = await jwtVerify(proof, jwks, {
    algorithms: ["EdDSA"], // only EdDSA: never "none", never HS256 with a public key
    audience: siteOrigin, // minted for this site's pages only
    issuer: relay,
    requiredClaims: ["exp", "sub", "email"],
    clockTolerance: 0,
  });
  if (payload.email_verified !== true) {
    throw new Error("the address is not marked verified");
  }
  if (payload.review === true && !acceptReview) {
    throw new Error("a review address's proof (its code is fixed and known)");
  }
  return payload.email;
}

try {
  console.log(
    await verifiedEmail(
      process.argv[2],
      process.env.SITE_ORIGIN,
      process.env.ACCEPT_REVIEW_PROOFS === "1",
    ),
  );
} catch (error) {
  console.error(`refused: ${error.code ?? error.name}: ${error.message}`);
  process.exit(1);
}
