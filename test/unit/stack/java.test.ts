import { describe, expect, it } from 'vitest';
import { parseJavaMajor } from '../../../src/tools/stack/java.js';

describe('parseJavaMajor', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "25" 2025-09-16', 25],
    ['openjdk version "21.0.2" 2024-01-16 LTS', 21],
    ['java version "1.8.0_392"', 8],
  ])('reads %j as Java %i', (output, major) => {
    expect(parseJavaMajor(output)).toBe(major);
  });

  it('returns undefined for output it does not understand', () => {
    expect(parseJavaMajor('command not found')).toBeUndefined();
  });
});
