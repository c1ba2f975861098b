{-|
Module      : Sound.Tidal.TidalSort
Description : Play a tidalsort bank (samples in similarity order) from TidalCycles

@tidalsort sort@ puts the samples of a SuperDirt bank in similarity order, so @n 0 .. n (N-1)@
walk from one sound to its nearest neighbour, and splits the order into contiguous
/clusters/. A cluster is described by its boundaries, a string of ints: the start of
every cluster plus the final stop. @"0 12 30 55"@ means cluster 0 is @n@ 0..11, cluster 1
is @n@ 12..29 and cluster 2 is @n@ 30..54. Each cluster also has a label (@"kick snare c2"@).

Every helper takes the bank name first and returns a pattern of sample numbers for @n@:

> d1 $ s "kb6*8" # n (tsIn "kb6" "<0 2>" "0 .. 7")

== Families

Cluster labels name families: the family of a label is the label without a trailing
@-\<digits\>@. Drum-family labels are @kick snare clap rim tom hihat_closed hihat_open
cymbal perc other@, numbered within the family in bank order (@kick kick-2 kick-3 snare
...@). A family is the concatenation, in bank order, of the clusters whose labels belong to
it (contiguous when families are grouped, spread over the bank when clusters are grouped by
sound alone).
The family helpers ('tsFam', 'tsFamRand', 'tsFamDrift', 'tsFamPat') address a whole family
by name or by a tidal-drum-machines abbreviation ('tsFamily'), so a pattern keeps playing
the same kind of sound when samples are added or the bank is re-sorted, whatever happens to
cluster numbers. A family the bank does not have plays nothing: no events, never another
family's sound (and so does every family while a bank's labels are unknown).

== Where the boundaries come from

For bank @b@ the helpers read, at query time and in this order:

1. /live/: the value of the control key @tidalsort_b@ (and @tidalsort_b_labels@) that the
   tidalsort SuperCollider receiver sends to Tidal's control port with @/ctrl@;
2. /static/: the values stored by 'tsStatic', usually from the @tidalsort-banks.hs@ file that
   @tidalsort sort@ writes next to the manifest (@tsStatic tidal tidalsortBanks@);
3. otherwise the fallback 'tsFallback' (one cluster holding sample 0), so a pattern keeps
   playing @n 0@.

A live value overrides the static one as long as it parses; a missing, empty or garbled live
value falls back to the static one. Labels always come from the same source as the
boundaries they belong to. Values are parsed with 'Text.Read.readMaybe', so nothing a control
message carries can throw inside Tidal's scheduler.

== GHCi / BootTidal

The same definitions ship as @tidalsort.hs@ for @:script@ (see the README);
@haskell/gen_script.py@ generates it from this module and the tests check the two agree.
-}
module Sound.Tidal.TidalSort
  ( -- * Playing by similarity
    tsIn
  , tsRand
  , tsPat
  , tsLabel
  , tsNum
  , tsDrift
  , tsDriftIn
  , tsSpread
    -- * Families
  , tsFam
  , tsFamRand
  , tsFamDrift
  , tsFamPat
  , tsFamily
  , tsFamRanges
    -- * Where the boundaries come from
  , tsStatic
  , tsBounds
  , tsLabels
  , tsKey
  , tsLabelsKey
  , tsStaticKey
  , tsStaticLabelsKey
    -- * Parsing
  , tsParseBounds
  , tsFallback
  ) where

-- tidalsort:imports-begin
import qualified Sound.Tidal.Context as TSC
import qualified Text.Read as TSRead
import qualified Data.Bits as TSBits
import qualified Data.Char as TSChar
import qualified Data.List as TSList
import qualified Data.Word as TSWord
-- tidalsort:imports-end

-- tidalsort:begin
-- | Index @i@ within cluster @c@ of bank @b@. The index wraps inside the cluster whatever
-- its size (@-1@ is the cluster's last sample) and @c@ wraps over the clusters. The
-- structure comes from the index pattern; @c@ is sampled at each index event.
--
-- > d1 $ s "kb6*8" # n (tsIn "kb6" "<0 2>" "0 .. 7")
-- > d1 $ n (tsIn "kb6" 1 "0 [1 2] 3 -1") # s "kb6"
tsIn :: Num a => String -> TSC.Pattern Int -> TSC.Pattern Int -> TSC.Pattern a
tsIn b cp ip = fromIntegral <$> tidalsortWith b
  (TSC.applyPatToPatLeft ((\i c (bs, _) -> tidalsortMember bs c i) <$> ip) cp)

-- | A random member of cluster @c@ of bank @b@, drawn afresh for every event. Like Tidal's
-- 'TSC.irand' it is a continuous pattern: give it structure with @#@ or
-- 'TSC.segment'.
--
-- > d1 $ s "kb6*8" # n (tsRand "kb6" "<0 1>")
-- > d1 $ n (segment 4 $ tsRand "kb6" 2) # s "kb6"
tsRand :: Num a => String -> TSC.Pattern Int -> TSC.Pattern a
tsRand b cp = fromIntegral <$> tidalsortWith b
  (TSC.applyPatToPatLeft ((\r c (bs, _) -> tidalsortPick bs c r) <$> (TSC.rand :: TSC.Pattern Double)) cp)

-- | Clusters and indices patterned together, across clusters: every word is
-- @cluster:index@, the cluster given by number or by label, the index optional
-- (default 0) and wrapping inside the cluster as in 'tsIn'.
--
-- > d1 $ n (tsPat "kb6" "0:0 2:3 [kick:1 snare] hat:-1") # s "kb6"
-- > d1 $ s "kb6*4" # n (tsPat "kb6" "<kick:0 kick:1> snare:<0 1 2> 1 hat")
tsPat :: Num a => String -> TSC.Pattern String -> TSC.Pattern a
tsPat b sp = fromIntegral <$> tidalsortWith b ((\w (bs, ls) -> tidalsortWord bs ls w) <$> sp)

-- | Index @i@ within the cluster named by label @l@, as the manifest names it
-- (case-insensitive; a number or @c3@ also names a cluster, an unknown label picks
-- cluster 0). Structure from the index pattern.
--
-- > d1 $ n (tsLabel "kb6" "<kick snare>" "0 1 2 3") # s "kb6"
-- > d1 $ s "kb6*8" # n (tsLabel "kb6" "hat" (irand 100))
tsLabel :: Num a => String -> TSC.Pattern String -> TSC.Pattern Int -> TSC.Pattern a
tsLabel b lp ip = fromIntegral <$> tidalsortWith b
  (TSC.applyPatToPatLeft ((\i l (bs, ls) -> tidalsortMember bs (tidalsortFind bs ls l) i) <$> ip) lp)

-- | The cluster number of a label (wrapped into range), to feed 'tsRand', 'tsIn' or
-- 'tsDriftIn'.
--
-- > d1 $ s "kb6*8" # n (tsRand "kb6" (tsNum "kb6" "<kick hat>"))
tsNum :: String -> TSC.Pattern String -> TSC.Pattern Int
tsNum b lp = tidalsortWith b
  ((\l (bs, ls) -> tidalsortFind bs ls l `mod` tidalsortCount bs) <$> lp)

-- | Drift: a bounded random walk along the whole ordered bank, @r@ steps per cycle. Each
-- step moves to a neighbour (@n@ changes by exactly 1, bouncing off both ends of the
-- bank), so the sound changes gradually. The walk is a fixed function of the step number
-- (deterministic, the same on every run); a patterned @r@ jumps when it changes.
--
-- > d1 $ n (tsDrift "kb6" 8) # s "kb6"
-- > d1 $ s "kb6*16" # n (tsDrift "kb6" 16) # legato 1
tsDrift :: Num a => String -> TSC.Pattern TSC.Time -> TSC.Pattern a
tsDrift b rp = fromIntegral <$> TSC.innerJoin
  ((\r -> tidalsortWith b ((\k (bs, _) -> tidalsortWalk (tidalsortFirst bs) (tidalsortLast bs - tidalsortFirst bs) k) <$> tidalsortSteps r)) <$> rp)

-- | Like 'tsDrift', but the walk stays inside cluster @c@ (sampled at every step).
--
-- > d1 $ n (tsDriftIn "kb6" "<0 1>" 8) # s "kb6"
tsDriftIn :: Num a => String -> TSC.Pattern Int -> TSC.Pattern TSC.Time -> TSC.Pattern a
tsDriftIn b cp rp = fromIntegral <$> TSC.innerJoin
  ((\r -> tidalsortWith b (TSC.applyPatToPatLeft ((\k c (bs, _) -> tidalsortWalkIn bs c k) <$> tidalsortSteps r) cp)) <$> rp)

-- | Spread: @r@ picks per cycle that cover every cluster evenly. The steps go in rounds
-- of as many steps as there are clusters; every round visits each cluster exactly once,
-- in a shuffled order, and in round @k@ a cluster plays its member @k@ (wrapping), so
-- over time every sample of every cluster is heard.
--
-- > d1 $ n (tsSpread "kb6" 8) # s "kb6"
-- > d1 $ s "kb6(5,8)" # n (tsSpread "kb6" 8)
tsSpread :: Num a => String -> TSC.Pattern TSC.Time -> TSC.Pattern a
tsSpread b rp = fromIntegral <$> TSC.innerJoin
  ((\r -> tidalsortWith b ((\k (bs, _) -> tidalsortSpreadAt bs k) <$> tidalsortSteps r)) <$> rp)

-- | Index @i@ within family @f@ of bank @b@: the family's samples in bank order, over all
-- its clusters. The index wraps inside the family (@-1@ is its last sample); @f@ is a
-- family name or abbreviation ('tsFamily'), sampled at each index event. Structure from
-- the index pattern; a family the bank does not have plays no events.
--
-- > d1 $ s "kb6*4" # n (tsFam "kb6" "kick" "<0 3 5>")
-- > d1 $ n (tsFam "kb6" "<bd sd>" "0 1 2 -1") # s "kb6"
tsFam :: Num a => String -> TSC.Pattern String -> TSC.Pattern Int -> TSC.Pattern a
tsFam b fp ip = fromIntegral <$> TSC.filterJust (tidalsortWith b
  (TSC.applyPatToPatLeft ((\i f (bs, ls) -> tidalsortFamMember (tidalsortFamRanges bs ls f) i) <$> ip) fp))

-- | A random member of family @f@ of bank @b@, drawn afresh for every event; a continuous
-- pattern like 'tsRand' (give it structure with @#@ or 'TSC.segment'). A family the bank
-- does not have plays no events.
--
-- > d1 $ s "kb6*8" # n (tsFamRand "kb6" "hh") # gain 0.8
-- > d1 $ s "kb6(3,8)" # n (tsFamRand "kb6" "<kick tom>")
tsFamRand :: Num a => String -> TSC.Pattern String -> TSC.Pattern a
tsFamRand b fp = fromIntegral <$> TSC.filterJust (tidalsortWith b
  (TSC.applyPatToPatLeft ((\r f (bs, ls) -> tidalsortFamPick (tidalsortFamRanges bs ls f) r) <$> (TSC.rand :: TSC.Pattern Double)) fp))

-- | Drift inside family @f@: a bounded random walk over the family's samples in bank
-- order, @r@ steps per cycle, each step to the neighbouring member (@n@ changes by 1 inside
-- a contiguous family; where a family spans separate ranges, a step from the end of one
-- range goes to the start of the next), bouncing off both ends of the family. Deterministic,
-- like 'tsDrift'; a family the bank does not have plays no events.
--
-- > d1 $ s "kb6*16" # n (tsFamDrift "kb6" "snare" 16) # gain "0.9 0.7"
-- > d1 $ n (tsFamDrift "kb6" "<cymbal perc>" 4) # s "kb6" # legato 1
tsFamDrift :: Num a => String -> TSC.Pattern String -> TSC.Pattern TSC.Time -> TSC.Pattern a
tsFamDrift b fp rp = fromIntegral <$> TSC.filterJust (TSC.innerJoin
  ((\r -> tidalsortWith b (TSC.applyPatToPatLeft ((\k f (bs, ls) -> tidalsortFamWalk (tidalsortFamRanges bs ls f) k) <$> tidalsortSteps r) fp)) <$> rp))

-- | A beat written as @family:index@ words: the family by name or abbreviation, the index
-- optional (default 0) and wrapping inside the family as in 'tsFam'. A word whose family
-- the bank does not have plays no event.
--
-- > d1 $ n (tsFamPat "kb6" "kick:0 [hihat_closed:1 hihat_closed:2] snare:0") # s "kb6"
-- > d1 $ s "kb6*4" # n (tsFamPat "kb6" "bd <hh:1 oh> sd:<0 1 2> hh:-1")
tsFamPat :: Num a => String -> TSC.Pattern String -> TSC.Pattern a
tsFamPat b sp = fromIntegral <$> TSC.filterJust (tidalsortWith b ((\w (bs, ls) -> tidalsortFamWord bs ls w) <$> sp))

-- | The family a name stands for, as the family helpers read it (case-insensitive):
-- tidal-drum-machines abbreviations @bd@ kick, @sd@ snare, @cp@ clap, @rim@ \/ @rs@ rim,
-- @lt@ \/ @mt@ \/ @ht@ \/ @tom@ tom, @hh@ \/ @ch@ hihat_closed, @oh@ hihat_open,
-- @cr@ \/ @rd@ \/ @cy@ cymbal, @perc@ \/ @cb@ \/ @sh@ \/ @tb@ perc, @fx@ \/ @misc@ other;
-- any other name in lower case (the family names themselves, or the label families of
-- older banks such as @hat@).
--
-- > tsFamily "BD" == "kick"
-- > tsFamily "hh" == "hihat_closed"
tsFamily :: String -> String
tsFamily name = maybe lower id (lookup lower tidalsortAliases)
  where lower = map TSChar.toLower name

-- | The @n@ ranges (start, stop) of family @f@ of bank @b@ in bank order, as the family
-- helpers see them (empty when the bank has no such family), as a pattern, to build your
-- own helpers.
--
-- > d1 $ s "kb6*4" # n (fromIntegral . sum . map fst . take 1 <$> tsFamRanges "kb6" "snare") -- the first snare
tsFamRanges :: String -> TSC.Pattern String -> TSC.Pattern [(Int, Int)]
tsFamRanges b fp = tidalsortWith b ((\f (bs, ls) -> tidalsortFamRanges bs ls f) <$> fp)

-- | Store static boundaries and labels (usually @tidalsortBanks@ from the
-- @tidalsort-banks.hs@ file) in the stream's control state, under keys the receiver
-- never sends ('tsStaticKey'), so the helpers work with no bridge running and a live
-- value still overrides them. Run it again after reloading the banks file.
--
-- > tsStatic tidal tidalsortBanks
-- > tsStatic tidal [("kb6", "0 12 30 55", "kick snare c2")]
tsStatic :: TSC.Stream -> [(String, String, String)] -> IO ()
tsStatic stream banks = mapM_ store banks
  where store (b, bounds, labels) = do
          TSC.streamSetS stream (tsStaticKey b) (pure bounds)
          TSC.streamSetS stream (tsStaticLabelsKey b) (pure labels)

-- | The boundaries the helpers use for bank @b@ (live, else static, else 'tsFallback'),
-- as a pattern, to build your own helpers. Like every control value it is only known
-- inside a playing pattern (a bare 'TSC.queryArc' sees the fallback).
--
-- > d1 $ s "kb6*4" # n (fromIntegral . pred . last <$> tsBounds "kb6") -- the bank's last sample
tsBounds :: String -> TSC.Pattern [Int]
tsBounds b = fst <$> tidalsortSource b

-- | The labels the helpers use for bank @b@ (same source as 'tsBounds'; empty when
-- unknown), as a pattern.
--
-- > d1 $ s "kb6*4" # n (tsIn "kb6" (subtract 1 . length <$> tsLabels "kb6") "0 1 2 3") -- last cluster
tsLabels :: String -> TSC.Pattern [String]
tsLabels b = snd <$> tidalsortSource b

-- | Control key of the live boundaries of bank @b@: @tidalsort_b@.
--
-- > tsKey "kb6" == "tidalsort_kb6"
tsKey :: String -> String
tsKey b = "tidalsort_" ++ b

-- | Control key of the live labels of bank @b@: @tidalsort_b_labels@.
--
-- > tsLabelsKey "kb6" == "tidalsort_kb6_labels"
tsLabelsKey :: String -> String
tsLabelsKey b = "tidalsort_" ++ b ++ "_labels"

-- | Control key that 'tsStatic' fills with the static boundaries of bank @b@
-- (@tidalsort:static:b@; the colon keeps it apart from any live key).
tsStaticKey :: String -> String
tsStaticKey b = "tidalsort:static:" ++ b

-- | Control key that 'tsStatic' fills with the static labels of bank @b@.
tsStaticLabelsKey :: String -> String
tsStaticLabelsKey b = "tidalsort:static:" ++ b ++ ":labels"

-- | Parse a boundaries string with 'TSRead.readMaybe': space-separated ints, at least
-- two, the first @>= 0@, never decreasing, the last above the first and below 2^31
-- (empty clusters are allowed). Anything else is 'Nothing'.
--
-- > tsParseBounds "0 12 30 55" == Just [0,12,30,55]
-- > tsParseBounds "0 12 x" == Nothing
tsParseBounds :: String -> Maybe [Int]
tsParseBounds str = case mapM TSRead.readMaybe (words str) :: Maybe [Integer] of
  Just xs@(x0 : _ : _)
    | x0 >= 0 && last xs > x0 && last xs < 2147483648 && and (zipWith (<=) xs (drop 1 xs))
    -> Just (map fromInteger xs)
  _ -> Nothing

-- | What the helpers use when a bank has no valid boundaries: one cluster holding
-- sample 0, so every helper plays @n 0@.
tsFallback :: [Int]
tsFallback = [0, 1]

-- Internal: live value if it parses, else static, else the fallback.
tidalsortChoose :: String -> String -> String -> String -> ([Int], [String])
tidalsortChoose live liveLabels static staticLabels =
  case (tsParseBounds live, tsParseBounds static) of
    (Just bs, _) -> (bs, words liveLabels)
    (Nothing, Just bs) -> (bs, words staticLabels)
    _ -> (tsFallback, [])

-- Internal: the boundaries and labels of bank b, one value per cycle.
tidalsortSource :: String -> TSC.Pattern ([Int], [String])
tidalsortSource b = tidalsortChoose
  <$> tidalsortLive (tsKey b) <*> tidalsortLive (tsLabelsKey b)
  <*> TSC.cS "" (tsStaticKey b) <*> TSC.cS "" (tsStaticLabelsKey b)

-- Internal: the live value under control key k. Tidal 1.7 reads at most 8,192 bytes of an
-- OSC message, so the receiver sends a longer value in parts: k then holds "@<g> <n>" and
-- part i (0-based) sits under k.<g mod 2>.<i> as "<g>:<text>". The parts are joined when
-- all n carry generation g; otherwise (a part lost or left from another reload) the value
-- is "" and the helpers fall back.
tidalsortLive :: String -> TSC.Pattern String
tidalsortLive k = TSC.innerJoin (tidalsortJoin k <$> TSC.cS "" k)

tidalsortJoin :: String -> String -> TSC.Pattern String
tidalsortJoin k v = case tidalsortHeader v of
  Nothing -> pure v
  Just (g, count) -> maybe "" concat . mapM (tidalsortPart g)
    <$> sequenceA [TSC.cS "" (k ++ "." ++ show (g `mod` 2) ++ "." ++ show i) | i <- [0 .. count - 1]]

-- Internal: "@<g> <n>" with 1 <= n <= 64 (the receiver's cap) to Just (g, n).
tidalsortHeader :: String -> Maybe (Int, Int)
tidalsortHeader v = case v of
  ('@' : rest) -> case mapM TSRead.readMaybe (words rest) of
    Just [g, count] | g >= 0 && count >= 1 && count <= 64 -> Just (g, count)
    _ -> Nothing
  _ -> Nothing

-- Internal: the text of a part of generation g.
tidalsortPart :: Int -> String -> Maybe String
tidalsortPart g p = case break (== ':') p of
  (gs, ':' : text) | TSRead.readMaybe gs == Just g -> Just text
  _ -> Nothing

-- Internal: structure from the first pattern, the bank's source sampled at each event.
tidalsortWith :: String -> TSC.Pattern (([Int], [String]) -> r) -> TSC.Pattern r
tidalsortWith b fp = TSC.applyPatToPatLeft fp (tidalsortSource b)

tidalsortFirst :: [Int] -> Int
tidalsortFirst bs = case bs of
  (x : _) -> x
  [] -> 0

tidalsortLast :: [Int] -> Int
tidalsortLast bs = case reverse bs of
  (x : _) -> x
  [] -> 1

-- Internal: number of clusters.
tidalsortCount :: [Int] -> Int
tidalsortCount bs = max 1 (length bs - 1)

-- Internal: start and size of cluster c (c wraps).
tidalsortCluster :: [Int] -> Int -> (Int, Int)
tidalsortCluster bs c = case drop (c `mod` tidalsortCount bs) bs of
  (lo : hi : _) -> (lo, hi - lo)
  _ -> (tidalsortFirst bs, 0)

-- Internal: an empty cluster plays the bank sample nearest to its position.
tidalsortClamp :: [Int] -> Int -> Int
tidalsortClamp bs x = max (tidalsortFirst bs) (min (tidalsortLast bs - 1) x)

tidalsortMember :: [Int] -> Int -> Int -> Int
tidalsortMember bs c i = case tidalsortCluster bs c of
  (lo, size) | size > 0 -> lo + i `mod` size
             | otherwise -> tidalsortClamp bs lo

tidalsortPick :: [Int] -> Int -> Double -> Int
tidalsortPick bs c r = case tidalsortCluster bs c of
  (lo, size) | size > 0 -> lo + max 0 (min (size - 1) (floor (r * fromIntegral size)))
             | otherwise -> tidalsortClamp bs lo

-- Internal: a label, a number or c<number> to a cluster number (unknown: 0).
tidalsortFind :: [Int] -> [String] -> String -> Int
tidalsortFind _ ls l =
  case lookup (map TSChar.toLower l) (zip (map (map TSChar.toLower) ls) [0 ..]) of
    Just k -> k
    Nothing -> case TSRead.readMaybe l of
      Just k -> k
      Nothing -> case l of
        (ch : rest) | TSChar.toLower ch == 'c' -> maybe 0 id (TSRead.readMaybe rest)
        _ -> 0

-- Internal: one "cluster:index" word of tsPat.
tidalsortWord :: [Int] -> [String] -> String -> Int
tidalsortWord bs ls w = case break (== ':') w of
  (l, rest) -> tidalsortMember bs (tidalsortFind bs ls l) (maybe 0 id (TSRead.readMaybe (drop 1 rest)))

-- Internal: r events per cycle, numbered by the global step k = floor (cycle * r).
tidalsortSteps :: TSC.Time -> TSC.Pattern Int
tidalsortSteps r = TSC.segment (pure rate) (TSC.sig (\t -> floor (t * rate)))
  where rate = if r > 0 then r else 1

-- Internal: 64-bit hash of two ints (splitmix64 finaliser).
tidalsortHash :: Int -> Int -> TSWord.Word64
tidalsortHash x y = tidalsortMix (tidalsortMix (fromIntegral x) + fromIntegral y * 0x9E3779B97F4A7C15)

tidalsortMix :: TSWord.Word64 -> TSWord.Word64
tidalsortMix z0 = z3
  where z1 = (z0 `TSBits.xor` (z0 `TSBits.shiftR` 30)) * 0xBF58476D1CE4E5B9
        z2 = (z1 `TSBits.xor` (z1 `TSBits.shiftR` 27)) * 0x94D049BB133111EB
        z3 = z2 `TSBits.xor` (z2 `TSBits.shiftR` 31)

-- Internal: uniform double in [0, 1).
tidalsortUnit :: TSWord.Word64 -> Double
tidalsortUnit h = fromIntegral (h `TSBits.shiftR` 11) / 9007199254740992

-- Internal: a +-1 random walk W with W 0 = 0, W k for any step k (|k| <= 2^39) in
-- about 80 hash evaluations, built top-down like a Brownian bridge: a block of steps
-- with a known sum splits into two halves whose sums are drawn consistently, so W is a
-- pure function of k and W (k+1) - W k is always +1 or -1.
tidalsortWalkAt :: Int -> Int
tidalsortWalkAt k = tidalsortPrefix (kk + half) - tidalsortPrefix half
  where half = 2 ^ (39 :: Int)
        kk = max (negate half) (min half k)

-- Internal: sum of the first j steps of the 2^40 steps of the walk.
tidalsortPrefix :: Int -> Int
tidalsortPrefix j = go 0 (2 ^ (40 :: Int)) 0 0
  where
    go a l t acc
      | j <= a = acc
      | j >= a + l = acc + t
      | l < 2 = acc
      | otherwise =
          let h = l `div` 2
              tl = tidalsortSplit a l t
          in if j < a + h then go a h tl acc else go (a + h) h (t - tl) (acc + tl)

-- Internal: the sum of the left half of block [a, a+l) whose steps sum to t.
tidalsortSplit :: Int -> Int -> Int -> Int
tidalsortSplit a l t = 2 * u1 - h
  where
    h = l `div` 2
    u = (l + t) `div` 2
    p = fromIntegral u / fromIntegral l :: Double
    sd = sqrt (fromIntegral h * p * (1 - p) * fromIntegral (l - h) / fromIntegral (max 1 (l - 1)))
    v1 = 1 - tidalsortUnit (tidalsortHash a (2 * l))
    v2 = tidalsortUnit (tidalsortHash a (2 * l + 1))
    z = sqrt (-2 * log v1) * cos (2 * pi * v2)
    guess = floor (fromIntegral u / 2 + z * sd + 0.5) :: Int
    u1 = max (max 0 (u - h)) (min (min u h) guess)

-- Internal: the walk folded into [lo, lo + size), bouncing off both ends.
tidalsortWalk :: Int -> Int -> Int -> Int
tidalsortWalk lo size k
  | size <= 1 = lo
  | otherwise = lo + (if y <= m then y else 2 * m - y)
  where m = size - 1
        y = tidalsortWalkAt k `mod` (2 * m)

tidalsortWalkIn :: [Int] -> Int -> Int -> Int
tidalsortWalkIn bs c k = case tidalsortCluster bs c of
  (lo, size) | size > 0 -> tidalsortWalk lo size k
             | otherwise -> tidalsortClamp bs lo

-- Internal: abbreviations of tidal-drum-machines and the family each stands for.
tidalsortAliases :: [(String, String)]
tidalsortAliases =
  [ ("bd", "kick"), ("sd", "snare"), ("cp", "clap"), ("rs", "rim")
  , ("lt", "tom"), ("mt", "tom"), ("ht", "tom"), ("hh", "hihat_closed"), ("ch", "hihat_closed")
  , ("oh", "hihat_open"), ("cr", "cymbal"), ("rd", "cymbal"), ("cy", "cymbal")
  , ("cb", "perc"), ("sh", "perc"), ("tb", "perc"), ("fx", "other"), ("misc", "other") ]

-- Internal: the family of a cluster label: the label without a trailing "-<digits>"
-- ("kick-2" -> "kick", "hihat_closed" -> "hihat_closed"), read like a name by tsFamily.
tidalsortLabelFamily :: String -> String
tidalsortLabelFamily label = tsFamily (case break (== '-') (reverse label) of
  (digits@(_ : _), '-' : rest) | all TSChar.isDigit digits && not (null rest) -> reverse rest
  _ -> label)

-- Internal: the non-empty (start, stop) ranges of the clusters of family f, in bank order.
tidalsortFamRanges :: [Int] -> [String] -> String -> [(Int, Int)]
tidalsortFamRanges bs ls f =
  [ (lo, hi) | ((lo, hi), l) <- zip (zip bs (drop 1 bs)) ls, hi > lo, tidalsortLabelFamily l == family ]
  where family = tsFamily f

-- Internal: the n of member j (0 <= j < the family's size) of a family's ranges.
tidalsortFamAt :: [(Int, Int)] -> Int -> Maybe Int
tidalsortFamAt rs j = case rs of
  ((lo, hi) : rest) | j < hi - lo -> Just (lo + j)
                    | otherwise -> tidalsortFamAt rest (j - (hi - lo))
  [] -> Nothing

tidalsortFamSize :: [(Int, Int)] -> Int
tidalsortFamSize rs = sum [hi - lo | (lo, hi) <- rs]

tidalsortFamMember :: [(Int, Int)] -> Int -> Maybe Int
tidalsortFamMember rs i
  | size > 0 = tidalsortFamAt rs (i `mod` size)
  | otherwise = Nothing
  where size = tidalsortFamSize rs

tidalsortFamPick :: [(Int, Int)] -> Double -> Maybe Int
tidalsortFamPick rs r = tidalsortFamMember rs (max 0 (min (size - 1) (floor (r * fromIntegral size))))
  where size = tidalsortFamSize rs

tidalsortFamWalk :: [(Int, Int)] -> Int -> Maybe Int
tidalsortFamWalk rs k
  | size > 0 = tidalsortFamAt rs (tidalsortWalk 0 size k)
  | otherwise = Nothing
  where size = tidalsortFamSize rs

-- Internal: one "family:index" word of tsFamPat.
tidalsortFamWord :: [Int] -> [String] -> String -> Maybe Int
tidalsortFamWord bs ls w = case break (== ':') w of
  (f, rest) -> tidalsortFamMember (tidalsortFamRanges bs ls f) (maybe 0 id (TSRead.readMaybe (drop 1 rest)))

-- Internal: step k of tsSpread.
tidalsortSpreadAt :: [Int] -> Int -> Int
tidalsortSpreadAt bs k = tidalsortMember bs c rnd
  where count = tidalsortCount bs
        rnd = k `div` count
        order = map snd (TSList.sortOn fst [(tidalsortHash rnd (j - 1000003), j) | j <- [0 .. count - 1]])
        c = case drop (k `mod` count) order of
          (x : _) -> x
          [] -> 0
-- tidalsort:end
