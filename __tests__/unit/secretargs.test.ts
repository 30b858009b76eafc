import { secretBuildArgsWarning, secretLookingBuildArgs } from '../../src/secretargs.js'

describe('secretLookingBuildArgs', () => {
  test.each<[string, boolean]>([
    ['NPM_TOKEN=abc', true],
    ['GITHUB_TOKEN=ghs_x', true],
    ['API_KEY=1', true],
    ['AWS_SECRET_ACCESS_KEY=x', true],
    ['AWS_ACCESS_KEY_ID=AKIA', true],
    ['DB_PASSWORD=x', true],
    ['DB_PASS=x', true],
    ['MYSQL_ROOT_PASSWD=x', true],
    ['CLIENT_SECRET=x', true],
    ['SECRETS=a,b', true],
    ['NPMTOKEN=x', true],
    ['DBPASSWORD=x', true],
    ['APIKEY=x', true],
    ['SSHKEY=x', true],
    ['npmToken=x', true],
    ['myApiKey=x', true],
    ['api-key=x', true],
    ['signing.key=x', true],
    ['GOOGLE_CREDENTIALS=x', true],
    ['SIGNING_KEYS=x', true],
    ['PUBLIC_KEY_PASSWORD=x', true],
    ['token', true],
    ['KEYBOARD_LAYOUT=us', false],
    ['TOKENIZER_MODEL=bert', false],
    ['MONKEY_PATCH=1', false],
    ['TURKEY=1', false],
    ['BYPASS_CACHE=1', false],
    ['SECRETARY_NAME=x', false],
    ['KEYRING_PATH=/etc/apt/keyrings', false],
    ['PASSWORDLESS_SUDO=1', false],
    ['PUBLIC_KEY=ssh-ed25519 AAAA', false],
    ['GPG_PUBLIC_KEYS=x', false],
    ['GO_VERSION=1.23', false],
    ['BASE=busybox', false],
    ['NODE_ENV=production', false],
    ['VALUE=my_token_is_here', false]
  ])('%s → %p', (arg, secret) => {
    expect(secretLookingBuildArgs([arg])).toEqual(secret ? [arg.split('=')[0]] : [])
  })

  test('names come once each, in input order, the value never decides', () => {
    expect(
      secretLookingBuildArgs(['GO_VERSION=1.23', 'NPM_TOKEN=a', 'API_KEY=b', 'NPM_TOKEN=c', 'NOTE=password123', 'DB_PASSWORD'])
    ).toEqual(['NPM_TOKEN', 'API_KEY', 'DB_PASSWORD'])
  })

  test('no build args, no names', () => {
    expect(secretLookingBuildArgs([])).toEqual([])
  })
})

describe('secretBuildArgsWarning', () => {
  test('none: no warning', () => {
    expect(secretBuildArgsWarning([])).toBeUndefined()
  })

  test('one name', () => {
    expect(secretBuildArgsWarning(['NPM_TOKEN'])).toBe(
      'build-args NPM_TOKEN looks like a secret: a build-arg value is stored in the image history and can appear in the ' +
        'provenance attestation, where anyone who can pull the image reads it. Pass it with the secrets input instead ' +
        '(secrets: npm_token=${{ secrets.NPM_TOKEN }}) and read it in the Dockerfile with RUN --mount=type=secret,id=npm_token'
    )
  })

  test('several names', () => {
    expect(secretBuildArgsWarning(['API_KEY', 'DB_PASSWORD'])).toBe(
      'build-args API_KEY, DB_PASSWORD look like secrets: a build-arg value is stored in the image history and can appear in the ' +
        'provenance attestation, where anyone who can pull the image reads it. Pass it with the secrets input instead ' +
        '(secrets: api_key=${{ secrets.API_KEY }}) and read it in the Dockerfile with RUN --mount=type=secret,id=api_key'
    )
  })
})
