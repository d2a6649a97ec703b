// ALTCHA's own library against the relay's proof of work (relay/tests/pow.rs runs this):
//   node interop.mjs solve '<challenge JSON from GET /api/v1/pow>'  -> the `pow` to send
//   node interop.mjs verify '<pow>' '<HMAC key>'                      -> true or false
import { solveChallenge, verifySolution } from 'altcha-lib/v1';

const [mode, arg, key] = process.argv.slice(2);
if (mode === 'solve') {
  const challenge = JSON.parse(arg);
  const { promise } = solveChallenge(
    challenge.challenge,
    challenge.salt,
    challenge.algorithm,
    challenge.maxnumber,
  );
  const solution = await promise;
  if (!solution) {
    console.error('altcha-lib found no solution');
    process.exit(1);
  }
  // The payload ALTCHA's widget sends, `took` included.
  const payload = {
    algorithm: challenge.algorithm,
    challenge: challenge.challenge,
    number: solution.number,
    salt: challenge.salt,
    signature: challenge.signature,
    took: solution.took,
  };
  console.log(btoa(JSON.stringify(payload)));
} else if (mode === 'verify') {
  console.log(await verifySolution(arg, key));
} else {
  console.error('usage: node interop.mjs solve CHALLENGE_JSON | verify POW KEY');
  process.exit(2);
}
