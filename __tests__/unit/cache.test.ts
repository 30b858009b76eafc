import { scopeGhaCache } from '../../src/cache.js'
import { parsePlatforms } from '../../src/platforms.js'

const IMAGE = 'ghcr.io/octo-org/app'

describe('scopeGhaCache', () => {
  test.each<[string, string[], string[], string[]]>([
    ['a one-platform leg gets its platform scope', ['type=gha'], ['linux/amd64'], ['type=gha,scope=ghcr.io/octo-org/app-linux-amd64']],
    ['a variant joins the scope', ['type=gha,mode=max'], ['linux/arm/v7'], ['type=gha,mode=max,scope=ghcr.io/octo-org/app-linux-arm-v7']],
    ['an alias is normalized', ['type=gha'], ['linux/aarch64'], ['type=gha,scope=ghcr.io/octo-org/app-linux-arm64']],
    ['several platforms share the image scope', ['type=gha', 'type=gha,mode=max'], ['linux/amd64', 'linux/arm64'], ['type=gha,scope=ghcr.io/octo-org/app', 'type=gha,mode=max,scope=ghcr.io/octo-org/app']],
    ['no platform uses the image scope', ['type=gha'], [], ['type=gha,scope=ghcr.io/octo-org/app']],
    ['a scope given stays', ['type=gha,scope=mine', 'type=gha, scope = other ,mode=max'], ['linux/amd64'], ['type=gha,scope=mine', 'type=gha, scope = other ,mode=max']],
    ['an empty scope given stays', ['type=gha,scope='], ['linux/amd64'], ['type=gha,scope=']],
    ['other cache types stay', ['type=registry,ref=ghcr.io/o/app:cache', 'type=local,src=/tmp/c', 'ghcr.io/o/app:cache'], ['linux/amd64'], ['type=registry,ref=ghcr.io/o/app:cache', 'type=local,src=/tmp/c', 'ghcr.io/o/app:cache']],
    ['type is matched as a field, case-insensitively', ['mode=max,TYPE=GHA'], ['linux/amd64'], ['mode=max,TYPE=GHA,scope=ghcr.io/octo-org/app-linux-amd64']],
    ['a quoted field with commas is one field', ['type=gha,"url=https://cache.example/a,b"'], ['linux/amd64'], ['type=gha,"url=https://cache.example/a,b",scope=ghcr.io/octo-org/app-linux-amd64']],
    ['a trailing comma is not doubled', ['type=gha,'], ['linux/amd64'], ['type=gha,scope=ghcr.io/octo-org/app-linux-amd64']],
    ['a scope-like text inside another value is no scope', ['type=gha,"token=scope=x"'], ['linux/s390x'], ['type=gha,"token=scope=x",scope=ghcr.io/octo-org/app-linux-s390x']],
    ['nothing in, nothing out', [], ['linux/amd64'], []]
  ])('%s', (_name, entries, platforms, expected) => {
    expect(scopeGhaCache(entries, IMAGE, parsePlatforms(platforms))).toEqual(expected)
  })

  test('legs of one image get distinct scopes', () => {
    const scopes = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/arm/v6'].map(p => scopeGhaCache(['type=gha'], IMAGE, parsePlatforms([p]))[0])
    expect(new Set(scopes).size).toBe(4)
  })
})
