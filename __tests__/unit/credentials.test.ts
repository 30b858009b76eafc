import { parseRegistryAuth, planLogins, type Credential } from '../../src/credentials.js'
import { canonicalRegistry } from '../../src/reference.js'
import { InputError } from '../../src/errors.js'

const INPUT = 'registry-auth'
const SECRET = 'S3cr3t-P4ss'

describe('parseRegistryAuth: valid lists', () => {
  test.each<[string, string, Credential[]]>([
    ['empty', '', []],
    ['blank lines', '\n   \n', []],
    ['only a comment', '# no logins yet\n', []],
    [
      'block and flow items',
      `- registry: ghcr.io\n  username: octocat\n  password: ${SECRET}\n- {registry: 127.0.0.1:5000, username: testuser, password: testpassword}\n`,
      [
        { registry: 'ghcr.io', username: 'octocat', password: SECRET },
        { registry: '127.0.0.1:5000', username: 'testuser', password: 'testpassword' }
      ]
    ],
    [
      'numbers as username and password',
      '- registry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com\n  username: 12345\n  password: 987654\n',
      [{ registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', username: '12345', password: '987654' }]
    ],
    [
      'numbers keep the digits as written (leading zeros, exponents, long ids)',
      '- registry: ghcr.io\n  username: 00123456789012345678901\n  password: 1e3\n',
      [{ registry: 'ghcr.io', username: '00123456789012345678901', password: '1e3' }]
    ],
    [
      'Docker Hub aliases become docker.io',
      [
        '- {registry: index.docker.io, username: a, password: p1}',
        '- {registry: registry-1.docker.io, username: b, password: p2}',
        '- {registry: DOCKER.IO, username: c, password: p3}',
        '- {registry: "https://index.docker.io/v1/", username: d, password: p4}'
      ].join('\n'),
      [
        { registry: 'docker.io', username: 'a', password: 'p1' },
        { registry: 'docker.io', username: 'b', password: 'p2' },
        { registry: 'docker.io', username: 'c', password: 'p3' },
        { registry: 'docker.io', username: 'd', password: 'p4' }
      ]
    ],
    [
      'a scheme and trailing slash are dropped, values trimmed',
      '- registry: "https://GHCR.io/"\n  username: "  octocat  "\n  password: " tok "\n',
      [{ registry: 'ghcr.io', username: 'octocat', password: 'tok' }]
    ],
    ['an IPv6 registry in brackets', '- {registry: "[::1]:5000", username: u, password: p}', [{ registry: '[::1]:5000', username: 'u', password: 'p' }]]
  ])('%s', (_name, text, expected) => {
    expect(parseRegistryAuth(text, INPUT)).toEqual(expected)
  })
})

// Every error names the input and the expected form; none repeats a password.
const ERRORS: [string, string, string][] = [
  [
    'a mapping, not a list',
    `registry: ghcr.io\nusername: octocat\npassword: ${SECRET}\n`,
    'Input "registry-auth": is not a YAML list: expected items like "- registry: ghcr.io" with username and password'
  ],
  [
    'a bare string',
    SECRET,
    'Input "registry-auth": is not a YAML list: expected items like "- registry: ghcr.io" with username and password'
  ],
  ['an item that is a string', `- ${SECRET}\n`, 'Input "registry-auth": item 1 is not a mapping: expected {registry, username, password}'],
  ['an item that is a list', `- [ghcr.io, octocat, ${SECRET}]\n`, 'Input "registry-auth": item 1 is not a mapping: expected {registry, username, password}'],
  [
    'an item without registry',
    `- username: octocat\n  password: ${SECRET}\n`,
    'Input "registry-auth": item 1 has no registry: expected {registry, username, password}, each a non-empty string'
  ],
  [
    'the second item without password',
    `- {registry: ghcr.io, username: octocat, password: ${SECRET}}\n- {registry: docker.io, username: me}\n`,
    'Input "registry-auth": item 2 has no password: expected {registry, username, password}, each a non-empty string'
  ],
  [
    'an empty username',
    `- {registry: ghcr.io, username: "  ", password: ${SECRET}}\n`,
    'Input "registry-auth": item 1 has no username: expected {registry, username, password}, each a non-empty string'
  ],
  [
    'an unknown key',
    `- registry: ghcr.io\n  username: octocat\n  password: ${SECRET}\n  token: ghp_abc\n`,
    'Input "registry-auth": item 1 has an unknown key "token": expected registry, username and password'
  ],
  [
    'a registry that is a URL with a path',
    `- registry: https://ghcr.io/octo/app\n  username: octocat\n  password: ${SECRET}\n`,
    'Input "registry-auth": item 1 has registry "https://ghcr.io/octo/app": expected a host[:port] like ghcr.io'
  ],
  [
    'tabs',
    `- registry: ghcr.io\n\tusername: octocat\n\tpassword: ${SECRET}\n`,
    'Input "registry-auth": is indented with tabs: YAML needs spaces; expected a list like "- registry: ghcr.io"'
  ],
  [
    'invalid YAML on the password line',
    `- registry: ghcr.io\n  username: octocat\n  password: ${SECRET}: x\n`,
    'Input "registry-auth": is not valid YAML at line 3: expected a list of {registry, username, password}'
  ],
  [
    'an unterminated quote',
    `- registry: ghcr.io\n  username: octocat\n  password: "${SECRET}\n`,
    'Input "registry-auth": is not valid YAML at line 4: expected a list of {registry, username, password}'
  ]
]

describe('parseRegistryAuth: errors', () => {
  test.each(ERRORS)('%s', (_name, text, message) => {
    expect(() => parseRegistryAuth(text, INPUT)).toThrow(new InputError(INPUT, message.replace('Input "registry-auth": ', '')))
    expect(() => parseRegistryAuth(text, INPUT)).toThrow(message)
  })

  test.each<[string, string]>([
    ...ERRORS.map(([name, text]): [string, string] => [name, text]),
    // A missing colon in a flow mapping makes "password S3cr3t-P4ss" a key without a value.
    ['a password that became a key', `- {registry: ghcr.io, username: octocat, password ${SECRET}}\n`],
    ['a password written as key=value', `- {registry: ghcr.io, username: octocat, password=${SECRET}}\n`]
  ])('%s: the message does not contain the password', (_name, text) => {
    let message = ''
    try {
      parseRegistryAuth(text, INPUT)
    } catch (e: unknown) {
      expect(e).toBeInstanceOf(InputError)
      message = (e as Error).message
    }
    expect(message.startsWith('Input "registry-auth": ')).toBe(true)
    expect(message.includes(SECRET)).toBe(false)
  })
})

describe('planLogins', () => {
  const TOKEN = 'ghs_jobtoken'
  const hub: Credential = { registry: 'docker.io', username: 'me', password: 'dckr_pat' }

  test.each<[string, Credential[], string[], string, string, Credential[]]>([
    ['an image on ghcr.io and no credentials: the job token', [], ['ghcr.io/octo/app'], TOKEN, 'octocat', [{ registry: 'ghcr.io', username: 'octocat', password: TOKEN }]],
    [
      'the job token comes after the explicit ones',
      [hub],
      ['docker.io/me/app', 'ghcr.io/octo/app'],
      TOKEN,
      'octocat',
      [hub, { registry: 'ghcr.io', username: 'octocat', password: TOKEN }]
    ],
    [
      'explicit ghcr.io credentials win (any spelling)',
      [{ registry: 'GHCR.IO', username: 'bot', password: 'ghp_pat' }],
      ['ghcr.io/octo/app'],
      TOKEN,
      'octocat',
      [{ registry: 'ghcr.io', username: 'bot', password: 'ghp_pat' }]
    ],
    ['no image on ghcr.io: no token login', [hub], ['docker.io/me/app', '127.0.0.1:5000/app'], TOKEN, 'octocat', [hub]],
    ['a host that only starts with ghcr.io', [], ['ghcr.io.example.com/octo/app'], TOKEN, 'octocat', []],
    ['no token', [], ['ghcr.io/octo/app'], '', 'octocat', []],
    ['no actor', [], ['ghcr.io/octo/app'], TOKEN, '', []],
    ['no images (nothing pushed)', [], [], TOKEN, 'octocat', []],
    [
      'explicit registries are canonical',
      [{ registry: 'index.docker.io', username: 'me', password: 'dckr_pat' }],
      ['docker.io/me/app'],
      TOKEN,
      'octocat',
      [hub]
    ]
  ])('%s', (_name, explicit, images, token, actor, expected) => {
    expect(planLogins(explicit, images, token, actor)).toEqual(expected)
  })
})

describe('canonicalRegistry', () => {
  test.each<[string, string]>([
    ['docker.io', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['auth.docker.io', 'docker.io'],
    ['registry.hub.docker.com', 'docker.io'],
    ['Docker.IO', 'docker.io'],
    ['https://index.docker.io', 'docker.io'],
    ['http://registry-1.docker.io//', 'docker.io'],
    // The key `docker login` itself stores Docker Hub credentials under.
    ['https://index.docker.io/v1/', 'docker.io'],
    ['ghcr.io', 'ghcr.io'],
    ['GHCR.io', 'ghcr.io'],
    ['https://ghcr.io/', 'ghcr.io'],
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['quay.io', 'quay.io'],
    ['hub.docker.com', 'hub.docker.com']
  ])('%s → %s', (host, expected) => {
    expect(canonicalRegistry(host)).toEqual(expected)
  })
})
