// Verifies a presign receipt as an application's back end would, with the
// jose library and the JWK Set presign serves: node verify-receipt.mjs
// JWKS_URL ISSUER RECEIPT. Prints the verified claims as JSON; exits 1
// (with the reason on stderr) when the receipt does not verify.
import { createRemoteJWKSet, jwtVerify } from 'jose'

const [jwksURL, issuer, receipt] = process.argv.slice(2)
try {
  const { payload, protectedHeader } = await jwtVerify(receipt, createRemoteJWKSet(new URL(jwksURL)), {
    issuer,
    algorithms: ['EdDSA', 'ES256'],
  })
  console.log(JSON.stringify({ alg: protectedHeader.alg, kid: protectedHeader.kid, claims: payload }))
} catch (err) {
  console.error(`${err.code ?? 'ERR'}: ${err.message}`)
  process.exit(1)
}
