/** Part 3 of 4 of the CI list of seeds (ci-seeds.ts). */
import { describe } from 'vitest';
import { ciPart } from './ci-seeds.js';

describe('CI seeds, part 3 of 4', () => ciPart(2));
