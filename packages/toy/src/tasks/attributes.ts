// The visual attributes every toy image has, and their fixed answer words.

export const COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'white'] as const;
export const SHAPES = ['square', 'circle', 'triangle', 'cross'] as const;
export const COUNTS = ['1', '2', '3'] as const;
export const POSITIONS = ['left', 'right'] as const;
export const SIZES = ['small', 'big'] as const;

export type Colour = (typeof COLOURS)[number];
export type Shape = (typeof SHAPES)[number];
export type CountWord = (typeof COUNTS)[number];
export type Position = (typeof POSITIONS)[number];
export type Size = (typeof SIZES)[number];

/**
 * Nominal RGB of each colour. Pairwise distances are >= 116 (blue-purple), far above the largest
 * colour jitter the renderer adds (|per-channel| <= 14 + 6 per pixel, i.e. < 36 in RGB distance),
 * and every colour has a channel >= 160 while the background stays <= 59 in every channel.
 */
export const PALETTE: Readonly<Record<Colour, readonly [number, number, number]>> = {
  red: [220, 40, 40],
  green: [40, 190, 60],
  blue: [50, 90, 235],
  yellow: [225, 215, 40],
  purple: [160, 60, 210],
  white: [230, 230, 230],
};

/** One scene: every object in an image shares colour, shape and size, so each attribute has one answer. */
export interface Scene {
  colour: Colour;
  shape: Shape;
  count: 1 | 2 | 3;
  position: Position;
  size: Size;
}

/** Where the renderer put each object: top-left corner and side length (pixels) of its bounding box. */
export interface Box {
  x: number;
  y: number;
  n: number;
}

/** The sub-tasks of the task-inference family, one per attribute. */
export const SUB_TASKS = ['colour', 'shape', 'count', 'position', 'size'] as const;
export type SubTask = (typeof SUB_TASKS)[number];

/** The answer words of each sub-task. */
export const SUB_TASK_ANSWERS: Readonly<Record<SubTask, readonly string[]>> = {
  colour: COLOURS,
  shape: SHAPES,
  count: COUNTS,
  position: POSITIONS,
  size: SIZES,
};

/** The answer word of `task` for a scene. */
export function attributeWord(scene: Scene, task: SubTask): string {
  switch (task) {
    case 'colour':
      return scene.colour;
    case 'shape':
      return scene.shape;
    case 'count':
      return String(scene.count);
    case 'position':
      return scene.position;
    case 'size':
      return scene.size;
  }
}
