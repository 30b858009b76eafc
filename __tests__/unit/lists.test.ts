import { lines, listItems } from '../../src/lists.js'

describe('lines', () => {
  test.each<[string, string, string[]]>([
    ['empty', '', []],
    ['blank lines and spaces only', '  \n\n\t\n', []],
    ['one item per line, trimmed', '  GO_VERSION=1.23 \nNODE=20\n', ['GO_VERSION=1.23', 'NODE=20']],
    ['commas never split', 'type=gha,mode=max\ntype=registry,ref=127.0.0.1:5000/app:cache', ['type=gha,mode=max', 'type=registry,ref=127.0.0.1:5000/app:cache']],
    ['CRLF line ends', 'a=1\r\nb=2\r\n', ['a=1', 'b=2']],
    ['blank lines between items dropped', 'a\n\n\nb', ['a', 'b']],
    ['quotes kept as written', '"a b"=c', ['"a b"=c']]
  ])('%s', (_name, value, expected) => {
    expect(lines(value)).toEqual(expected)
  })
})

describe('listItems', () => {
  test.each<[string, string, string[]]>([
    ['empty', '', []],
    ['blank lines', '  \n\n', []],
    ['comma-separated, trimmed', 'linux/amd64, linux/arm64 ,linux/arm/v7', ['linux/amd64', 'linux/arm64', 'linux/arm/v7']],
    ['one per line', 'ghcr.io/octo/app\n127.0.0.1:5000/app\n', ['ghcr.io/octo/app', '127.0.0.1:5000/app']],
    ['lines and commas mixed', 'a,b\nc', ['a', 'b', 'c']],
    ['CRLF line ends', 'a\r\nb,c\r\n', ['a', 'b', 'c']],
    ['a quoted item keeps its comma', '"a,b" , c', ['a,b', 'c']],
    ['a doubled quote inside quotes is one quote', '"a""b",c', ['a"b', 'c']],
    ['quotes inside an unquoted item stay', 'a "b" c,d', ['a "b" c', 'd']],
    ['single quotes do not group', "'a,b',c", ["'a", "b'", 'c']],
    ['a trailing comma leaves an empty item', 'a,', ['a', '']],
    ['a leading comma leaves an empty item', ',a', ['', 'a']],
    ['a doubled comma leaves an empty item', 'a,,b', ['a', '', 'b']]
  ])('%s', (_name, value, expected) => {
    expect(listItems(value, 'platforms')).toEqual(expected)
  })

  test.each<[string, string]>([
    ['an unclosed quote', 'linux/amd64,"linux/arm64'],
    ['text after a closing quote', '"linux/amd64"x,linux/arm64']
  ])('%s is rejected, not guessed', (_name, value) => {
    expect(() => listItems(value, 'platforms')).toThrow(
      `Input "platforms": has an unbalanced quote in "${value}": expected items separated by commas or newlines, quoted with "..." when an item holds a comma`
    )
  })
})
