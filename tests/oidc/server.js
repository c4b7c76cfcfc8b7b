// The OpenID Connect provider the SSO tests sign in against (oidc-provider on loopback).
//
//   node server.js PORT    (or OIDC_PORT)
//
// Environment:
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET  the portal's client credentials
//   OIDC_REDIRECT_URI                   the portal's callback URL
//   OIDC_ACCOUNT_FILE                   JSON claims of the one account: sub, preferred_username,
//                                       email, name, groups. Read on every sign-in, so a test can
//                                       change the claims between sign-ins.
//
// Sign-in uses oidc-provider's development interactions: a login form (any password) whose
// login must equal the account's sub, then a consent form. Prints "ready ISSUER" when listening.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
}

const host = '127.0.0.1';
const port = Number(process.argv[2] || process.env.OIDC_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node server.js PORT');
  process.exit(2);
}
const issuer = `http://${host}:${port}`;
const accountFile = required('OIDC_ACCOUNT_FILE');

async function findAccount(ctx, id) {
  const { sub, ...claims } = JSON.parse(readFileSync(accountFile, 'utf8'));
  if (id !== sub) return undefined;
  return { accountId: sub, claims: async () => ({ sub, ...claims }) };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: required('OIDC_CLIENT_ID'),
      client_secret: required('OIDC_CLIENT_SECRET'),
      redirect_uris: [required('OIDC_REDIRECT_URI')],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  responseTypes: ['code'],
  findAccount,
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // Put the scopes' claims in the ID token as well as in userinfo, as Keycloak does.
  conformIdTokenClaims: false,
  pkce: { methods: ['S256'], required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  jwks: {
    keys: [
      {
        ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
        kid: 'signing',
        use: 'sig',
        alg: 'RS256',
      },
    ],
  },
});

const server = createServer(provider.callback());
server.listen(port, host, () => console.log(`ready ${issuer}`));
