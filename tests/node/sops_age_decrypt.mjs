// Decrypt a SOPS file with the sops-age package (an implementation independent of sops and of
// ssmform) and print the decrypted values as JSON on stdout.
//
// Usage: node sops_age_decrypt.mjs FILE TYPE   (TYPE: yaml, json or env)
// The age identity comes from the AGE_SECRET_KEY environment variable, never from argv.
import { decryptSops } from "sops-age";

const [, , path, fileType] = process.argv;
const secretKey = process.env.AGE_SECRET_KEY;
if (!path || !fileType || !secretKey) {
  process.stderr.write("usage: AGE_SECRET_KEY=... node sops_age_decrypt.mjs FILE yaml|json|env\n");
  process.exit(2);
}
try {
  const data = await decryptSops({ path, secretKey, fileType });
  process.stdout.write(JSON.stringify(data));
} catch (e) {
  process.stderr.write(`sops-age could not decrypt ${path}: ${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
}
