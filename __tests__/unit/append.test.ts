import { appendArgs, checkAppendTarget, firstNodePlatforms, parseAppend, type AppendNode } from '../../src/append.js'
import { InputError } from '../../src/errors.js'
import { parsePlatforms } from '../../src/platforms.js'

const EXPECTED =
  'expected a YAML list of {name, endpoint, platforms, driver-opts}, e.g. "- {name: arm, endpoint: tcp://arm-builder:1234, platforms: linux/arm64}"'

function node(endpoint: string, platforms: string[] = [], name = '', driverOpts: string[] = []): AppendNode {
  return { name, endpoint, platforms: parsePlatforms(platforms), driverOpts }
}

describe('parseAppend', () => {
  test.each<[string, string, AppendNode[]]>([
    ['empty', '', []],
    ['blank lines', '\n  \n', []],
    ['a YAML null', '~', []],
    ['an empty list', '[]', []],
    [
      'one flow mapping',
      '- {name: arm, endpoint: tcp://arm-builder:1234, platforms: linux/arm64}',
      [node('tcp://arm-builder:1234', ['linux/arm64'], 'arm')]
    ],
    [
      'block mappings, platforms as a list and as a comma string, aliases normalized',
      [
        '- name: arm',
        '  endpoint: tcp://arm-builder:1234',
        '  platforms: [linux/aarch64, linux/arm]',
        '- endpoint: ssh://user@riscv-host',
        '  platforms: "linux/riscv64, linux/ppc64le"',
        ''
      ].join('\n'),
      [node('tcp://arm-builder:1234', ['linux/arm64', 'linux/arm/v7'], 'arm'), node('ssh://user@riscv-host', ['linux/riscv64', 'linux/ppc64le'])]
    ],
    ['no platforms and no name', '- endpoint: unix:///run/buildkit/buildkitd.sock', [node('unix:///run/buildkit/buildkitd.sock')]],
    ['a null name', '- {name: null, endpoint: tcp://b:1234}', [node('tcp://b:1234')]],
    [
      'driver-opts as a list',
      '- endpoint: tcp://b:1234\n  driver-opts: [cacert=ca.pem, "servername=b.internal"]',
      [node('tcp://b:1234', [], '', ['cacert=ca.pem', 'servername=b.internal'])]
    ],
    [
      'driver-opts as a mapping',
      '- endpoint: tcp://b:1234\n  driver-opts: {cacert: ca.pem, "env.BUILDKIT_STEP_LOG_MAX_SIZE": 10485760}',
      [node('tcp://b:1234', [], '', ['cacert=ca.pem', 'env.BUILDKIT_STEP_LOG_MAX_SIZE=10485760'])]
    ],
    [
      'driver-opts as a block string, one per line',
      '- endpoint: tcp://b:1234\n  driver-opts: |\n    cacert=ca.pem\n\n    key=key.pem\n',
      [node('tcp://b:1234', [], '', ['cacert=ca.pem', 'key=key.pem'])]
    ],
    ['an endpoint with surrounding spaces', '- endpoint: "  tcp://b:1234 "', [node('tcp://b:1234')]],
    ['a Docker context as endpoint', '- {name: Arm.node_1-x, endpoint: arm-context}', [node('arm-context', [], 'Arm.node_1-x')]]
  ])('%s', (_name, text, expected) => {
    expect(parseAppend(text)).toEqual(expected)
  })

  test.each<[string, string, string]>([
    ['a mapping', 'endpoint: tcp://b:1234', `is not a YAML list: ${EXPECTED}`],
    ['a string', 'tcp://b:1234', `is not a YAML list: ${EXPECTED}`],
    ['tab indentation', '- name: a\n\tendpoint: tcp://b:1234', `is indented with tabs, which YAML does not allow: ${EXPECTED}`],
    ['tab after spaces', '- name: a\n  \tendpoint: tcp://b:1234', `is indented with tabs, which YAML does not allow: ${EXPECTED}`],
    ['invalid YAML', '- {name: a, endpoint: tcp://b:1234\n- x', `is not valid YAML at line 2: ${EXPECTED}`],
    ['an item that is a string', '- tcp://b:1234', `item 1 is not a mapping: ${EXPECTED}`],
    ['an item that is a list', '- endpoint: tcp://a:1\n- [tcp://b:1234]', `item 2 is not a mapping: ${EXPECTED}`],
    ['an unknown key', '- {endpoint: tcp://b:1234, platform: linux/arm64}', 'item 1 has an unknown key "platform": expected name, endpoint, platforms, driver-opts'],
    ['a driver key', '- {endpoint: tcp://b:1234, driver: remote}', 'item 1 has an unknown key "driver": expected name, endpoint, platforms, driver-opts'],
    ['no endpoint', '- {name: arm, platforms: linux/arm64}', 'item 1 has no endpoint: expected e.g. endpoint: tcp://arm-builder:1234'],
    ['an empty endpoint', '- {endpoint: " "}', 'item 1 has no endpoint: expected e.g. endpoint: tcp://arm-builder:1234'],
    ['a numeric endpoint', '- {endpoint: 1234}', 'item 1 has no endpoint: expected e.g. endpoint: tcp://arm-builder:1234'],
    ['an endpoint with a space', '- {endpoint: "tcp://b:1234 --debug"}', 'item 1 has endpoint "tcp://b:1234 --debug": expected an address or Docker context without spaces, e.g. tcp://arm-builder:1234'],
    ['an endpoint that is a flag', '- {endpoint: --debug}', 'item 1 has endpoint "--debug": expected an address or Docker context without spaces, e.g. tcp://arm-builder:1234'],
    ['a name starting with a digit', '- {name: 1arm, endpoint: tcp://b:1234}', 'item 1 has name "1arm": expected a letter, then letters, digits, ".", "_" or "-"'],
    ['a name with a space', '- {name: "arm node", endpoint: tcp://b:1234}', 'item 1 has name "arm node": expected a letter, then letters, digits, ".", "_" or "-"'],
    ['a numeric name', '- {name: 7, endpoint: tcp://b:1234}', 'item 1 has name 7: expected a letter, then letters, digits, ".", "_" or "-"'],
    [
      'an unknown platform',
      '- {endpoint: tcp://b:1234, platforms: linux/arm65}',
      'item 1 platforms: "linux/arm65" is not a platform (unknown architecture "arm65"): expected os/arch[/variant], e.g. linux/amd64, ' +
        'linux/arm64, linux/arm/v7; known architectures: amd64, arm64, arm, 386, ppc64le, ppc64, s390x, riscv64, mips64le, mips64, mipsle, mips, loong64, wasm'
    ],
    [
      'a trailing comma in platforms',
      '- {endpoint: tcp://b:1234, platforms: "linux/arm64,"}',
      'item 1 platforms: empty platform in the list (a stray or trailing comma?): expected os/arch[/variant], e.g. linux/amd64, linux/arm64, ' +
        'linux/arm/v7; known architectures: amd64, arm64, arm, 386, ppc64le, ppc64, s390x, riscv64, mips64le, mips64, mipsle, mips, loong64, wasm'
    ],
    ['a platform twice', '- {endpoint: tcp://b:1234, platforms: [linux/arm, linux/arm/v7]}', 'item 1 platforms: "linux/arm" and "linux/arm/v7" are the same platform (linux/arm/v7); list each platform once'],
    ['platforms as a mapping', '- {endpoint: tcp://b:1234, platforms: {linux: arm64}}', 'item 1 has platforms {"linux":"arm64"}: expected os/arch[/variant] strings, e.g. linux/arm64'],
    ['a driver-opt without =', '- {endpoint: tcp://b:1234, driver-opts: [cacert]}', 'item 1 driver-opt "cacert" is not key=value'],
    ['a driver-opts number', '- {endpoint: tcp://b:1234, driver-opts: 5}', 'item 1 has driver-opts 5: expected a list of key=value, e.g. [cacert=ca.pem]'],
    ['a nested driver-opts value', '- {endpoint: tcp://b:1234, driver-opts: {a: [1]}}', 'item 1 driver-opts "a" is not a scalar: expected key: value pairs or a list of key=value'],
    ['the same name twice', '- {name: a, endpoint: tcp://b:1}\n- {name: a, endpoint: tcp://c:1}', 'items 1 and 2 have the same name "a": each node needs its own'],
    ['the same endpoint twice', '- {endpoint: tcp://b:1}\n- {name: x, endpoint: tcp://c:1}\n- {endpoint: " tcp://b:1"}', 'items 1 and 3 have the same endpoint "tcp://b:1": each node needs its own']
  ])('%s fails', (_name, text, detail) => {
    let thrown: unknown
    try {
      parseAppend(text)
    } catch (e: unknown) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(InputError)
    expect((thrown as InputError).message).toBe(`Input "append": ${detail}`)
  })

  test('errors name the input they were given', () => {
    expect(() => parseAppend('- x', 'nodes')).toThrow(`Input "nodes": item 1 is not a mapping: ${EXPECTED}`)
  })
})

describe('appendArgs', () => {
  test.each<[string, AppendNode, string[]]>([
    [
      'every field',
      node('tcp://arm-builder:1234', ['linux/arm64', 'linux/arm/v7'], 'arm', ['cacert=ca.pem', 'servername=arm']),
      [
        'create', '--append', '--name', 'multiarch-release-1-1-abc', '--node', 'arm',
        '--platform', 'linux/arm64,linux/arm/v7',
        '--driver-opt', 'cacert=ca.pem', '--driver-opt', 'servername=arm',
        '--bootstrap', 'tcp://arm-builder:1234'
      ]
    ],
    [
      'endpoint only',
      node('ssh://user@arm-host'),
      ['create', '--append', '--name', 'multiarch-release-1-1-abc', '--bootstrap', 'ssh://user@arm-host']
    ],
    [
      'normalized platforms',
      node('unix:///run/buildkit/buildkitd.sock', ['linux/aarch64'], 'host'),
      ['create', '--append', '--name', 'multiarch-release-1-1-abc', '--node', 'host', '--platform', 'linux/arm64', '--bootstrap', 'unix:///run/buildkit/buildkitd.sock']
    ]
  ])('%s', (_name, n, expected) => {
    expect(appendArgs('multiarch-release-1-1-abc', n)).toEqual(expected)
  })

  test('a parsed input gives the argv of each node', () => {
    const nodes = parseAppend('- {name: host, endpoint: "unix:///run/bk.sock", platforms: linux/arm64}')
    expect(nodes.map(n => appendArgs('b', n))).toEqual([
      ['create', '--append', '--name', 'b', '--node', 'host', '--platform', 'linux/arm64', '--bootstrap', 'unix:///run/bk.sock']
    ])
  })
})

describe('firstNodePlatforms', () => {
  test.each<[string, string[], AppendNode[], string[]]>([
    ['no appended node', ['linux/amd64', 'linux/arm64'], [], ['linux/amd64', 'linux/arm64']],
    ['arm64 goes to the appended node', ['linux/amd64', 'linux/arm64'], [node('tcp://a:1', ['linux/arm64'])], ['linux/amd64']],
    ['aliases compare normalized', ['linux/amd64', 'linux/arm/v7', 'linux/arm64'], [node('tcp://a:1', ['linux/arm'])], ['linux/amd64', 'linux/arm64']],
    ['a node without platforms takes none', ['linux/amd64', 'linux/arm64'], [node('tcp://a:1')], ['linux/amd64', 'linux/arm64']],
    ['nodes that take every platform leave them all on the first', ['linux/arm64'], [node('tcp://a:1', ['linux/arm64', 'linux/riscv64'])], ['linux/arm64']]
  ])('%s', (_name, platforms, nodes, expected) => {
    expect(firstNodePlatforms(parsePlatforms(platforms), nodes)).toEqual(parsePlatforms(expected))
  })
})

describe('checkAppendTarget', () => {
  const nodes = [node('tcp://a:1', ['linux/arm64'])]
  test.each<[string, AppendNode[], Parameters<typeof checkAppendTarget>[1], string | undefined]>([
    ['remote builder this step creates', nodes, { driver: 'remote', builder: '' }, undefined],
    ['docker-container builder this step creates', nodes, { driver: 'docker-container', builder: '' }, undefined],
    ['no node with an existing builder', [], { driver: 'docker', builder: 'mine' }, undefined],
    [
      'an existing builder',
      nodes,
      { driver: 'remote', builder: 'mine' },
      'Input "append": adds nodes to the builder this step creates, but builder "mine" is given: leave builder empty, or add the nodes to that builder yourself'
    ],
    [
      'the docker driver',
      nodes,
      { driver: 'docker', builder: '' },
      'Input "append": needs a builder with several nodes, which the docker driver cannot have: use driver remote (BuildKit addresses) or docker-container (Docker endpoints)'
    ]
  ])('%s', (_name, n, target, message) => {
    if (message === undefined) expect(() => checkAppendTarget(n, target)).not.toThrow()
    else expect(() => checkAppendTarget(n, target)).toThrow(new InputError('append', message.slice('Input "append": '.length)))
  })
})
