/**
 * Words that name a credential. A name matches when one of its words is one of these, or
 * (for the unambiguous ones) ends with one: NPMTOKEN, DBPASSWORD. KEY and PASS only match as
 * whole words, so KEYBOARD_LAYOUT, MONKEY_PATCH and BYPASS_CACHE stay quiet.
 */
const WHOLE_WORDS = new Set([
  'TOKEN',
  'TOKENS',
  'SECRET',
  'SECRETS',
  'PASSWORD',
  'PASSWORDS',
  'PASSWD',
  'PASS',
  'KEY',
  'KEYS',
  'CREDENTIAL',
  'CREDENTIALS',
  // KEY compounds written as one word; a general "ends with KEY" would take MONKEY and TURKEY.
  'APIKEY',
  'ACCESSKEY',
  'SECRETKEY',
  'PRIVATEKEY',
  'SSHKEY',
  'AUTHKEY',
  'SIGNINGKEY',
  'LICENSEKEY',
  'MASTERKEY',
  'ENCRYPTIONKEY'
])
const SUFFIXES = ['TOKEN', 'SECRET', 'PASSWORD', 'PASSWD']

/** A public key is published by design, so it is no reason to warn. */
const PUBLIC = 'PUBLIC'

/** The words of a build-arg name: split at `_`, `-`, `.` and lower-to-upper case changes (npmToken). */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .split(/[_.-]+/)
    .filter(word => word !== '')
    .map(word => word.toUpperCase())
}

function looksSecret(name: string): boolean {
  const parts = words(name)
  return parts.some((word, i) => {
    if (parts[i - 1] === PUBLIC && (word === 'KEY' || word === 'KEYS')) return false
    return WHOLE_WORDS.has(word) || SUFFIXES.some(suffix => word.endsWith(suffix))
  })
}

/**
 * Names of build args (NAME=value or NAME lines) that look like credentials, each once, in
 * input order. Build-arg values stay readable in the image history and can appear in the
 * provenance attestation, unlike build secrets.
 */
export function secretLookingBuildArgs(buildArgs: string[]): string[] {
  const names: string[] = []
  for (const arg of buildArgs) {
    const name = arg.split('=', 1)[0].trim()
    if (name && looksSecret(name) && !names.includes(name)) names.push(name)
  }
  return names
}

/** The warning for those names, or undefined when there are none. */
export function secretBuildArgsWarning(names: string[]): string | undefined {
  if (names.length === 0) return undefined
  const list = names.join(', ')
  const first = names[0]
  return (
    `build-args ${list} ${names.length === 1 ? 'looks' : 'look'} like ${names.length === 1 ? 'a secret' : 'secrets'}: ` +
    'a build-arg value is stored in the image history and can appear in the provenance attestation, where anyone who can pull the image reads it. ' +
    `Pass it with the secrets input instead (secrets: ${first.toLowerCase()}=\${{ secrets.${first} }}) ` +
    `and read it in the Dockerfile with RUN --mount=type=secret,id=${first.toLowerCase()}`
  )
}
