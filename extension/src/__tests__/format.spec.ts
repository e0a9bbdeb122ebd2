import {
  checkoutDirName,
  firstLine,
  formatBytes,
  formatCount,
  formatFromPath,
  formatValue,
  loadSnippet,
  makeURI,
  parseUnifiedDiff,
  parseURI,
  splitFrontMatter
} from '../format';

describe('blacklake:// URIs', () => {
  it('builds and parses repo/ref/path', () => {
    const uri = makeURI('demo-classifier', 'main', 'models/a b/model.safetensors');
    expect(uri).toBe('blacklake://demo-classifier/main/models/a b/model.safetensors');
    expect(parseURI(uri)).toEqual({
      repo: 'demo-classifier',
      ref: 'main',
      path: 'models/a b/model.safetensors'
    });
  });

  it('has no trailing slash at the root and parses it back', () => {
    expect(makeURI('r', 'v1.0')).toBe('blacklake://r/v1.0');
    expect(parseURI('blacklake://r/v1.0')).toEqual({ repo: 'r', ref: 'v1.0', path: '' });
    expect(parseURI('blacklake://r/v1.0/dir/')).toEqual({ repo: 'r', ref: 'v1.0', path: 'dir' });
  });

  it('rejects what is not a blacklake URI', () => {
    expect(parseURI('s3://bucket/key')).toBeNull();
    expect(parseURI('blacklake://repo')).toBeNull();
    expect(parseURI('blacklake:///main/x')).toBeNull();
  });
});

describe('formatting', () => {
  it('formats sizes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(8 * 1024 * 1024)).toBe('8.0 MiB');
    expect(formatBytes(-2048)).toBe('-2.0 KiB');
    expect(formatBytes(null)).toBe('');
  });

  it('formats parameter counts', () => {
    expect(formatCount(950)).toBe('950');
    expect(formatCount(2_097_152)).toBe('2.1M');
    expect(formatCount(124_000_000)).toBe('124M');
    expect(formatCount(7_000_000_000)).toBe('7B');
  });

  it('shows any JSON value as one line of text', () => {
    expect(formatValue(null)).toBe('—');
    expect(formatValue(['en', 'de'])).toBe('en, de');
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
    expect(formatValue('<b>x</b>')).toBe('<b>x</b>');
  });

  it('keeps the first line of a message', () => {
    expect(firstLine('fix\n\nlong body')).toBe('fix');
  });
});

describe('splitFrontMatter', () => {
  it('splits YAML front matter from the markdown body', () => {
    const { front, body } = splitFrontMatter('---\nlicense: mit\n---\n# Title\n\ntext\n');
    expect(front).toBe('license: mit');
    expect(body).toBe('# Title\n\ntext\n');
  });

  it('leaves cards without front matter alone', () => {
    expect(splitFrontMatter('# Title\n---\n').body).toBe('# Title\n---\n');
  });
});

describe('loadSnippet', () => {
  it('opens a file by URI', () => {
    const code = loadSnippet({ repo: 'r', ref: 'main', path: 'data/train.csv', kind: 'file' });
    expect(code).toBe(
      'import blacklake_ml as bl\n\nf = bl.open("blacklake://r/main/data/train.csv")\ndata = f.read()'
    );
  });

  it('adds a loader for known formats and the server store location', () => {
    const code = loadSnippet({
      repo: 'r',
      ref: 'v1.0',
      path: 'model.safetensors',
      kind: 'file',
      format: 'safetensors',
      home: '/data/store'
    });
    expect(code).toContain('store = bl.Store.open("/data/store")');
    expect(code).toContain('f = bl.open("blacklake://r/v1.0/model.safetensors", store=store)');
    expect(code).toContain('from safetensors.torch import load');
  });

  it('checks out model folders', () => {
    const code = loadSnippet({
      repo: 'demo-text',
      ref: 'main',
      path: 'tiny-bert',
      kind: 'dir',
      format: 'huggingface'
    });
    expect(code).toContain('local_dir = "tiny-bert-main"');
    expect(code).toContain(
      'store.repo("demo-text").checkout("main", local_dir, path="tiny-bert", force=True)'
    );
    expect(code).toContain('AutoModel.from_pretrained(local_dir)');
  });

  it('escapes quotes and backslashes in Python string literals', () => {
    const code = loadSnippet({ repo: 'r', ref: 'main', path: 'a"b\\c.txt', kind: 'file' });
    expect(code).toContain('bl.open("blacklake://r/main/a\\"b\\\\c.txt")');
  });

  it('derives safe checkout directory names', () => {
    expect(checkoutDirName('r', 'main', 'x/y z')).toBe('y_z-main');
    expect(checkoutDirName('repo', 'v1', '')).toBe('repo-v1');
  });
});

describe('formatFromPath', () => {
  it('knows loaders by suffix', () => {
    expect(formatFromPath('data/train.CSV')).toBe('csv');
    expect(formatFromPath('m/model.onnx')).toBe('onnx');
    expect(formatFromPath('README.md')).toBeNull();
    expect(formatFromPath('noext')).toBeNull();
  });
});

describe('parseUnifiedDiff', () => {
  it('classifies headers, hunks, additions, deletions and context', () => {
    const text = [
      '--- a/notes.txt',
      '+++ b/notes.txt',
      '@@ -1,3 +1,4 @@',
      ' alpha',
      '-beta',
      '+beta (edited)',
      '--- a line that starts with dashes',
      ' gamma',
      '\\ No newline at end of file',
      ''
    ].join('\n');
    expect(parseUnifiedDiff(text).map(l => l.kind)).toEqual([
      'meta',
      'meta',
      'hunk',
      'ctx',
      'del',
      'add',
      'del',
      'ctx',
      'meta'
    ]);
  });
});
