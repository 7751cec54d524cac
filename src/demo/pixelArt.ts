/**
 * The demo's data set: 16×16 pixel-art sprites over a palette of 20 colours. Each colour is a token
 * (the palette plays the VQ-VAE codebook), so K = 21 with the mask. Every sprite has a label; some
 * labels have two variants, so that conditioning on a label still leaves a choice.
 */

/** Side of a sprite, in pixels: N = 256 latent pixels. */
export const SPRITE_SIZE = 16;

/** The codebook: one RGB colour per token. */
export const PALETTE: readonly (readonly [number, number, number])[] = [
  [247, 241, 227], // .  0 background
  [26, 28, 44], //    k  1 outline
  [177, 62, 83], //   r  2 red
  [239, 125, 87], //  R  3 light red
  [244, 162, 97], //  o  4 orange
  [255, 205, 117], // y  5 yellow
  [56, 183, 100], //  g  6 green
  [37, 113, 121], //  G  7 dark green
  [167, 240, 112], // l  8 lime
  [59, 93, 201], //   b  9 blue
  [65, 166, 246], //  B 10 light blue
  [115, 239, 247], // c 11 cyan
  [93, 39, 93], //    p 12 purple
  [232, 106, 146], // P 13 pink
  [244, 244, 244], // w 14 white
  [148, 176, 194], // s 15 grey
  [86, 108, 134], //  S 16 dark grey
  [139, 90, 43], //   n 17 brown
  [92, 58, 30], //    N 18 dark brown
  [224, 176, 137], // t 19 tan
];

const CODES = ".krRoygGlbBcpPwsSnNt";

/** A sprite as drawn here: 16 strings of 16 palette codes. */
interface SpriteSource {
  label: string;
  rows: readonly string[];
}

const SOURCES: readonly SpriteSource[] = [
  { label: "heart", rows: [
    "................", "................", "...kkk....kkk...", "..krrrk..krrrk..",
    ".krRrrrkkrrrrrk.", ".krRrrrrrrrrrrk.", ".krrrrrrrrrrrrk.", ".krrrrrrrrrrrrk.",
    "..krrrrrrrrrrk..", "...krrrrrrrrk...", "....krrrrrrk....", ".....krrrrk.....",
    "......krrk......", ".......kk.......", "................", "................"] },
  { label: "heart", rows: [
    "................", "................", "...kkk....kkk...", "..kPPPk..kPPPk..",
    ".kPwPPPkkPPPPPk.", ".kPwPPPPPPPPPPk.", ".kPPPPPPPPPPPPk.", ".kPPPPPPPPPPPPk.",
    "..kPPPPPPPPPPk..", "...kPPPPPPPPk...", "....kPPPPPPk....", ".....kPPPPk.....",
    "......kPPk......", ".......kk.......", "................", "................"] },
  { label: "tree", rows: [
    "................", ".....gggggg.....", "...gggggggggg...", "..gggglggggggg..",
    "..gggllgggggGg..", ".gggggggggggGGg.", ".ggglgggggggGGg.", ".gggggggggGGGGg.",
    "..gggggggGGGGg..", "...ggGGGGGGGg...", ".....GGnnGG.....", ".......nn.......",
    ".......nn.......", "......nnnn......", ".....NNNNNN.....", "................"] },
  { label: "tree", rows: [
    ".......G........", "......GGG.......", ".....GGgGG......", "....GGGgGGG.....",
    "......GgG.......", "....GGGgGGG.....", "...GGGGgGGGG....", "..GGGGGgGGGGG...",
    ".....GGgGG......", "...GGGGgGGGG....", "..GGGGGGGGGGG...", ".GGGGGGGGGGGGG..",
    ".......nn.......", ".......nn.......", "......NNNN......", "................"] },
  { label: "house", rows: [
    "................", ".......kk.......", "......krrk......", ".....krrrrk.....",
    "....krrrrrrk....", "...krrrrrrrrk...", "..krrrrrrrrrrk..", ".kkkkkkkkkkkkkk.",
    "..kttttttttttk..", "..ktBBtttttttk..", "..ktBBttnnnttk..", "..kttttnnnnttk..",
    "..kttttnnynttk..", "..kttttnnnnttk..", "..kkkkkkkkkkkk..", "gggggggggggggggg"] },
  { label: "sun", rows: [
    "................", ".......y........", "..y....y....y...", "...y.......y....",
    "......oooo......", ".....oyyyyo.....", "....oyyyyyyo....", ".yy.oyyyyyyo.yy.",
    "....oyyyyyyo....", ".....oyyyyo.....", "......oooo......", "...y.......y....",
    "..y....y....y...", ".......y........", "................", "................"] },
  { label: "moon", rows: [
    "................", "......kkkk......", "....kkyyyyk.....", "...kyyyyyk......",
    "..kyyyyyk.......", "..kyyyyk........", ".kyyyyyk........", ".kyyyyyk........",
    ".kyyyyyk........", ".kyyyyyyk.......", "..kyyyyyyk......", "..kyyyyyyykk....",
    "...kyyyyyyyyk...", "....kkyyyyyk....", "......kkkkk.....", "................"] },
  { label: "star", rows: [
    "................", ".......kk.......", "......kyyk......", "......kyyk......",
    ".....kyyyyk.....", "kkkkkkyyyykkkkkk", ".kyyyyyyyyyyyyk.", "..kyyyyyyyyyyk..",
    "...kyyyyyyyyk...", "...kyyyyyyyyk...", "..kyyyykkyyyyk..", "..kyyyk..kyyyk..",
    ".kyyk......kyyk.", ".kkk........kkk.", "................", "................"] },
  { label: "mushroom", rows: [
    "................", ".....kkkkkk.....", "...kkrrwwrrkk...", "..krrrwwwwrrrk..",
    ".krwwrrwwrrrrrk.", ".krwwrrrrrrwwrk.", "krrrrrrrrrrwwrrk", "krrwwrrrrrrrrrrk",
    ".kkkkkkkkkkkkkk.", "....kwwwwwwk....", "....kwkwwkwk....", "....kwwwwwwk....",
    "....kwwwwwwk....", ".....kkkkkk.....", "................", "................"] },
  { label: "fish", rows: [
    "................", "................", "................", ".........kkk....",
    "......kkkbbbk...", ".k...kbbbbbbbk..", "kbk.kbbbbbbwkbk.", "kbbkbbbbbbbbbbbk",
    "kbbbbbbbBBBBBbk.", "kbbkbBBBBBBBBbk.", "kbk.kbBBBBBBbk..", ".k...kkbbbbkk...",
    ".......kkkk.....", "................", "................", "................"] },
  { label: "cat", rows: [
    "................", "..k.........k...", "..kk.......kk...", "..kok.....kok...",
    "..koookkkooook..", "..kooooooooook..", ".koookoooookoook", ".kookkooookkook.",
    ".koooooooooooook", ".kooooPkPoooook.", "..koooookooook..", "..kooowkwkoook..",
    "...koooooooook..", "....kkkkkkkkk...", "................", "................"] },
  { label: "flower", rows: [
    "................", "......PPP.......", ".....PPPPP......", "..PPPPPPPPPPP...",
    ".PPPPPyyyPPPPP..", ".PPPPyyyyyPPPP..", "..PPPyyyyyPPP...", "...PPPyyyPPP....",
    "..PPPPPPPPPPPP..", "......PgP.......", "....ll.g........", "...llllg........",
    "....lllg.ll.....", ".......gllll....", ".......g.ll.....", "gggggggggggggggg"] },
  { label: "ghost", rows: [
    "................", ".....kkkkkk.....", "....kwwwwwwk....", "...kwwwwwwwwk...",
    "..kwwkkwwkkwwk..", "..kwwkbwwkbwwk..", "..kwwwwwwwwwwk..", "..kwwwwwwwwwwk..",
    "..kwwwwPPwwwwk..", "..kwwwwwwwwwwk..", "..kwwwwwwwwwwk..", "..kwwwwwwwwwwk..",
    "..kwkwwkkwwkwk..", "..kk.kk..kk.kk..", "................", "................"] },
  { label: "key", rows: [
    "................", "....kkkk........", "...kyyyyk.......", "..kyykkyyk......",
    "..kyk..kyk......", "..kyykkyyk......", "...kyyyyk.......", "....kyyk........",
    "....kyyk........", "....kyyykk......", "....kyyyyk......", "....kyyk........",
    "....kyyykk......", "....kyyyyk......", "....kkkkk.......", "................"] },
  { label: "sword", rows: [
    "..............kk", ".............ksk", "............kswk", "...........kswk.",
    "..........kswk..", ".........kswk...", "..n.....kswk....", "..nn...kswk.....",
    "...nn.kswk......", "....nnswk.......", ".....nnk........", "....nNnn........",
    "...nNk.nn.......", "..nNk...n.......", ".kNk............", "..k............."] },
  { label: "potion", rows: [
    "................", "......kkkk......", "......knnk......", "......kkkk......",
    ".......kk.......", "......kwwk......", ".....kwppwk.....", "....kwppppwk....",
    "...kppppppppk...", "...kpPppppppk...", "...kppPpppppk...", "...kppppppppk...",
    "....kppppppk....", ".....kkkkkk.....", "................", "................"] },
  { label: "apple", rows: [
    "................", "........nn......", ".......ng.......", "....rrrrnrrr....",
    "...rrRrrrrrrr...", "..rrRRrrrrrrrr..", "..rRrrrrrrrrrr..", "..rrrrrrrrrrrr..",
    "..rrrrrrrrrrrr..", "..rrrrrrrrrrrr..", "...rrrrrrrrrr...", "...rrrrrrrrrr...",
    "....rrrrrrrr....", ".....rrr.rrr....", "................", "................"] },
  { label: "cloud", rows: [
    "................", "................", "................", "......www.......",
    "....wwwwwww.....", "...wwwwwwwww....", "..wwwwwwwwwwww..", ".wwwwwwwwwwwwwww",
    ".wwwwwwwwwwwwwww", "..wsswwwsswwwsw.", "...ssssssssss...", "................",
    "...B....B....B..", "..B....B....B...", "................", "................"] },
];

/** A labelled token image: N = 256 tokens in [0, PALETTE.length − 1], row-major. */
export interface LabelledImage {
  readonly label: string;
  readonly tokens: Int32Array;
}

function parse(source: SpriteSource, index: number): LabelledImage {
  if (source.rows.length !== SPRITE_SIZE) throw new Error(`sprite ${index} (${source.label}): expected ${SPRITE_SIZE} rows, got ${source.rows.length}`);
  const tokens = new Int32Array(SPRITE_SIZE * SPRITE_SIZE);
  source.rows.forEach((row, y) => {
    if (row.length !== SPRITE_SIZE) throw new Error(`sprite ${index} (${source.label}) row ${y}: expected ${SPRITE_SIZE} codes, got ${row.length}`);
    for (let x = 0; x < SPRITE_SIZE; x++) {
      const code = CODES.indexOf(row[x]);
      if (code < 0) throw new Error(`sprite ${index} (${source.label}) row ${y}: unknown code ${JSON.stringify(row[x])}`);
      tokens[y * SPRITE_SIZE + x] = code;
    }
  });
  return { label: source.label, tokens };
}

/** The data set: every sprite, parsed. */
export const PIXEL_ART: readonly LabelledImage[] = SOURCES.map(parse);

/** The labels, each once, in data-set order. */
export const PIXEL_ART_LABELS: readonly string[] = [...new Set(PIXEL_ART.map((s) => s.label))];

/** K for this data set: the palette's colours and the mask. */
export const PIXEL_ART_NUM_CLASSES = PALETTE.length + 1;
