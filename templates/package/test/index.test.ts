import { describe, expect, it } from 'vitest';
import { packageName } from '../src/index.js';

describe('@joule/{{name}}', () => {
  it('knows its name', () => {
    expect(packageName).toBe('@joule/{{name}}');
  });
});
