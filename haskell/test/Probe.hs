{-# LANGUAGE OverloadedStrings #-}
-- | Pure probe for tests/test_haskell.py: queries the helper patterns with queryArc
-- (control state injected as Tidal's stream would hold it) and prints one line per case,
-- @name<TAB>json@, where json is a list of @[onset numerator, onset denominator, value]@
-- for every event whose onset lies in the queried cycles. The Python test holds the
-- expected values.
module Main (main) where

import qualified Data.Map.Strict as Map
import Data.List (intercalate, sortOn)
import Data.Ratio (denominator, numerator)
import Sound.Tidal.Context
import Sound.Tidal.TidalSort

-- Live values arrive from /ctrl as plain strings (VS); tsStatic stores patterns (VPattern),
-- exactly as streamSetS does.
liveKV :: String -> String -> String -> [(String, Value)]
liveKV b bounds labels = [(tsKey b, VS bounds), (tsLabelsKey b, VS labels)]

staticKV :: String -> String -> String -> [(String, Value)]
staticKV b bounds labels =
  [ (tsStaticKey b, VPattern (toValue <$> pure bounds))
  , (tsStaticLabelsKey b, VPattern (toValue <$> pure labels))
  ]

-- Test-only: answer queries as if the stream's control state held these values.
withControls :: [(String, Value)] -> Pattern a -> Pattern a
withControls kvs p = p {query = \st -> query p (st {controls = Map.union (Map.fromList kvs) (controls st)})}

-- A live value sent in parts (TidalSortCtrl): the header under the key, the parts under
-- key.<g mod 2>.<i> as "<g>:<text>".
partsKV :: String -> Int -> [String] -> [(String, Value)]
partsKV k g texts = (k, VS ("@" ++ show g ++ " " ++ show (length texts)))
  : [(k ++ "." ++ show (g `mod` 2) ++ "." ++ show i, VS (show g ++ ":" ++ text)) | (i, text) <- zip [0 :: Int ..] texts]

live, static, both, garbage, single, emptyCl, parts :: [(String, Value)]
live = liveKV "kb6" "0 4 8 12 20" "kick snare hat tom"
static = staticKV "kb6" "0 2 4 6" "lo mid hat"
both = live ++ static
garbage = liveKV "kb6" "zz top" "kick" ++ static
single = liveKV "one" "0 1 2 3" "a b c" ++ liveKV "solo" "5 6" "x"
emptyCl = liveKV "gap" "0 4 4 8 8" "a b c d"
parts = partsKV (tsKey "kb6") 7 ["0 4 8 1", "2 20 3", "0"] ++ partsKV (tsLabelsKey "kb6") 12 ["kick sn", "are hat tom x"] ++ static

-- Families. famA: kicks then snares (default grouping); famB: the same bank re-sorted after
-- samples were added, clusters cut differently; famC: --group sound, hats first and the
-- kicks spread over three clusters: kick = n 4 5 9 10 12 13 14, hihat_closed = 0 1 2 3 11,
-- snare = 6 7 8.
famA, famB, famC, famStatic, famOld :: [(String, Value)]
famA = liveKV "x" "0 3 6 10" "kick kick-2 snare"
famB = liveKV "x" "0 2 7 9 13 16" "kick kick-2 snare snare-2 hihat_closed"
famC = liveKV "x" "0 4 6 9 11 12 15 15" "hihat_closed kick snare kick-2 HIHAT_CLOSED-2 kick-3 kick-4"
famStatic = staticKV "x" "0 4 6 9 11 12 15 15" "hihat_closed kick snare kick-2 HIHAT_CLOSED-2 kick-3 kick-4"
famOld = liveKV "x" "0 2 4 6" "low mid hat"

-- parts with one replaced, removed, or a header that promises too many (Map.fromList keeps
-- the last value of a key)
partsBroken :: Int -> [(String, Value)]
partsBroken k = case k of
  0 -> parts ++ [(tsKey "kb6" ++ ".1.1", VS "5:2 20 3")]
  1 -> filter ((/= tsKey "kb6" ++ ".1.2") . fst) parts
  2 -> parts ++ [(tsKey "kb6", VS "@7 65")]
  _ -> parts ++ [(tsKey "kb6", VS "@7")]

-- | Events with onsets in [from, to), as (onset, value), sorted by onset (stable: events
-- with one onset keep queryArc's order). queryArc's own order is not Tidal's to keep: 1.10
-- lists the events of @slow 2 "0 1"@ over 4 cycles as 0, 2, 1, 3 where 1.7 and 1.9 give 0 .. 3.
onsets :: Pattern a -> Time -> Time -> [(Time, a)]
onsets p from to = sortOn fst [(wholeStart e, value e) | e <- queryArc p (Arc from to), eventHasOnset e]

showT :: Time -> String
showT t = show (numerator t) ++ "," ++ show (denominator t)

jsonInts :: [(Time, Int)] -> String
jsonInts evs = "[" ++ intercalate "," ["[" ++ showT t ++ "," ++ show v ++ "]" | (t, v) <- evs] ++ "]"

jsonDoubles :: [(Time, Double)] -> String
jsonDoubles evs = "[" ++ intercalate "," ["[" ++ showT t ++ "," ++ show v ++ "]" | (t, v) <- evs] ++ "]"

jsonMaybe :: Maybe [Int] -> String
jsonMaybe = maybe "null" (\xs -> "[" ++ intercalate "," (map show xs) ++ "]")

-- | The n of a control pattern's events (to prove the helpers work inside n (...)).
nOf :: ControlPattern -> Time -> Time -> [(Time, Int)]
nOf p from to = [(t, getN vm) | (t, vm) <- onsets p from to]
  where getN vm = case Map.lookup "n" vm of
          Just (VN x) -> round (unNote x)
          Just (VF x) -> round x
          _ -> -1000

type Case = (String, String)

ints :: String -> [(String, Value)] -> Pattern Int -> Time -> Time -> Case
ints name kvs p from to = (name, jsonInts (onsets (withControls kvs p) from to))

cases :: [Case]
cases =
  -- tsIn
  [ ints "in_live" live (tsIn "kb6" 1 "0 1 2 3 4 5") 0 1
  , ints "in_wrap_negative" live (tsIn "kb6" 3 "-1 -8 -9 8") 0 1
  , ints "in_cluster_wraps" live (tsIn "kb6" "<4 -1 5>" "0 1") 0 3
  , ints "in_cluster_pattern" live (tsIn "kb6" "<0 1 2 3>" "0 1") 0 4
  , ints "in_structure" live (tsIn "kb6" "0 2" "0 [1 2]") 0 1
  , ints "in_slow_across_cycles" live (tsIn "kb6" 1 (slow 2 "0 1")) 0 4
  , ints "in_single_clusters" single (tsIn "one" "<0 1 2>" "0 1 2 5") 0 3
  , ints "in_single_bank" single (tsIn "solo" "<0 7>" "0 1 -1") 0 2
  , ints "in_empty_cluster" emptyCl (tsIn "gap" "<1 3>" "0 1") 0 2
  , ints "in_static" static (tsIn "kb6" 1 "0 1 2") 0 1
  , ints "in_live_over_static" both (tsIn "kb6" 1 "0 1 2") 0 1
  , ints "in_garbage_live_uses_static" garbage (tsIn "kb6" 1 "0 1 2") 0 1
  , ints "in_missing" [] (tsIn "kb6" 2 "0 1 2") 0 1
  , ints "in_empty_string" (liveKV "kb6" "" "kick") (tsIn "kb6" 1 "0 1 2") 0 1
  , ints "in_garbage" (liveKV "kb6" "zz 12 x" "kick") (tsIn "kb6" 1 "0 1 2") 0 1
  , ints "in_decreasing" (liveKV "kb6" "0 8 4" "") (tsIn "kb6" 1 "0 1 2") 0 1
  , ints "in_negative_start" (liveKV "kb6" "-2 4 8" "") (tsIn "kb6" 1 "0 1 2") 0 1
  , ints "in_one_number" (liveKV "kb6" "5" "") (tsIn "kb6" 1 "0 1 2") 0 1
  , ints "in_floats" (liveKV "kb6" "0 1.5 3" "") (tsIn "kb6" 1 "0 1 2") 0 1
  , ints "in_wrong_type" [(tsKey "kb6", VF 3)] (tsIn "kb6" 1 "0 1 2") 0 1
  , ints "in_wrong_type_static" ((tsKey "kb6", VI 7) : static) (tsIn "kb6" 1 "0 1 2") 0 1
  , ("in_no_state_queryArc", jsonInts (onsets (tsIn "kb6" 1 "0 1 2" :: Pattern Int) 0 1))
  -- live values in parts
  , ints "parts_in" parts (tsIn "kb6" 4 "0 1 2 3") 0 1
  , ints "parts_label" parts (tsLabel "kb6" "x" "0 1") 0 1
  , ("parts_bounds", show' (tsBounds "kb6") parts)
  , ("parts_labels", showL (tsLabels "kb6") parts)
  , ("parts_other_generation", show' (tsBounds "kb6") (partsBroken 0))
  , ("parts_missing", show' (tsBounds "kb6") (partsBroken 1))
  , ("parts_too_many", show' (tsBounds "kb6") (partsBroken 2))
  , ("parts_bad_header", show' (tsBounds "kb6") (partsBroken 3))
  -- families
  , ints "fam_a" famA (tsFam "x" "kick" "0 1 2 3 4 5 6 -1") 0 1
  , ints "fam_b" famB (tsFam "x" "kick" "0 1 2 3 4 5 6 7 -1") 0 1
  , ints "fam_c" famC (tsFam "x" "kick" "0 1 2 3 4 5 6 7 -1") 0 1
  , ints "fam_c_cluster_0" famC (tsIn "x" 0 "0 1") 0 1
  , ints "fam_static" famStatic (tsFam "x" "kick" "0 1 2") 0 1
  , ints "fam_live_over_static" (famA ++ famStatic) (tsFam "x" "kick" "0 1 2") 0 1
  , ints "fam_aliases" famC (tsFam "x" "<BD hh SD cy>" "0 1") 0 4
  , ints "fam_absent" famC (tsFam "x" "oh" "0 1 2") 0 1
  , ints "fam_no_labels" [] (tsFam "x" "kick" "0 1") 0 1
  , ints "fam_old_labels" famOld (tsFam "x" "<hat hh>" "0 1") 0 2
  , ints "fam_rand" famC (segment 16 $ tsFamRand "x" "kick") 0 2
  , ("fam_rand_oracle", jsonDoubles (onsets (segment 16 (rand :: Pattern Double)) 0 2))
  , ints "fam_rand_absent" famC (segment 4 $ tsFamRand "x" "cymbal") 0 1
  , ints "fam_drift" famC (tsFamDrift "x" "kick" 8) 0 50
  , ints "fam_drift_absent" famC (tsFamDrift "x" "clap" 8) 0 1
  , ints "fam_pat" famC (tsFamPat "x" "kick:0 [hihat_closed:1 hh:2] snare:0 oh:1 bd:-1 sd") 0 1
  , ("fam_inside_n", jsonInts (nOf (withControls famC (s "x*4" # n (tsFam "x" "kick" "0 1 2 3"))) 0 1))
  , ("fam_ranges", showR (tsFamRanges "x" "bd") famC)
  , ("fam_ranges_absent", showR (tsFamRanges "x" "rim") famC)
  , ("family_names", "[" ++ intercalate "," (map (show . tsFamily)
        ["bd", "SD", "cp", "rim", "rs", "lt", "mt", "ht", "tom", "hh", "ch", "oh", "cr", "rd", "cy", "perc", "cb", "sh", "tb", "fx", "misc", "Kick", "hihat_open", "hat"]) ++ "]")
  -- tsLabel / tsNum / tsPat
  , ints "label_live" live (tsLabel "kb6" "hat" "0 1 2 3 4") 0 1
  , ints "label_case_numbers" live (tsLabel "kb6" "<HAT c3 2 zz>" "0 1") 0 4
  , ints "label_static" static (tsLabel "kb6" "<hat mid>" "0 1 2") 0 2
  , ints "label_live_over_static" both (tsLabel "kb6" "hat" "0 1 2") 0 1
  , ints "label_missing" [] (tsLabel "kb6" "hat" "0 1 2") 0 1
  , ints "num_live" live (tsNum "kb6" "hat kick zz 7 tom") 0 1
  , ints "pat_live" live (tsPat "kb6" "0:1 hat:2 tom:-1 c1 9:1 zz snare:x") 0 1
  , ints "pat_static" static (tsPat "kb6" "hat:1 mid 0:-1") 0 1
  , ints "pat_missing" [] (tsPat "kb6" "hat:1 2:3") 0 1
  -- tsRand (continuous; the Python test compares with Tidal's own rand below)
  , ints "rand_live" live (segment 8 $ tsRand "kb6" "<3 0>") 0 2
  , ("rand_oracle", jsonDoubles (onsets (segment 8 (rand :: Pattern Double)) 0 2))
  , ints "rand_single" single (segment 4 $ tsRand "one" 1) 0 1
  , ints "rand_missing" [] (segment 4 $ tsRand "kb6" 1) 0 1
  , ("rand_in_n", jsonInts (nOf (withControls live (s "kb6*8" # n (tsRand "kb6" 3))) 0 2))
  , ("rand_in_n_oracle", jsonDoubles (onsets (segment 8 (rand :: Pattern Double)) 0 2))
  -- tsDrift / tsDriftIn
  , ints "drift_live" live (tsDrift "kb6" 8) 0 4
  , ints "drift_live_long" live (tsDrift "kb6" 8) 0 600
  , ints "drift_far" live (tsDrift "kb6" 8) 100000 100004
  , ints "drift_negative_cycles" live (tsDrift "kb6" 4) (-2) 2
  , ints "drift_rate_pattern" live (tsDrift "kb6" "<4 8>") 0 2
  , ints "drift_single" single (tsDrift "solo" 4) 0 2
  , ints "drift_missing" [] (tsDrift "kb6" 4) 0 2
  , ints "drift_zero_rate" live (tsDrift "kb6" 0) 0 2
  , ints "driftin_live" live (tsDriftIn "kb6" 1 8) 0 50
  , ints "driftin_single" single (tsDriftIn "one" 2 4) 0 1
  -- tsSpread
  , ints "spread_live" live (tsSpread "kb6" 4) 0 10
  , ints "spread_single" single (tsSpread "one" 3) 0 4
  , ints "spread_missing" [] (tsSpread "kb6" 4) 0 1
  -- inside n (...)
  , ("in_inside_n", jsonInts (nOf (withControls live (n (tsIn "kb6" 2 "0 1 2 3 4") # s "kb6")) 0 1))
  , ("pat_inside_n", jsonInts (nOf (withControls live (s "kb6*2" # n (tsPat "kb6" "tom:1 kick:2"))) 0 1))
  -- what the helpers see
  , ("bounds_live", show' (tsBounds "kb6") both)
  , ("bounds_static", show' (tsBounds "kb6") static)
  , ("bounds_missing", show' (tsBounds "kb6") [])
  , ("labels_live", showL (tsLabels "kb6") both)
  , ("labels_static", showL (tsLabels "kb6") garbage)
  , ("labels_missing", showL (tsLabels "kb6") [])
  , ("keys", "[" ++ intercalate "," (map show [tsKey "kb6", tsLabelsKey "kb6", tsStaticKey "kb6", tsStaticLabelsKey "kb6"]) ++ "]")
  , ("parse", "[" ++ intercalate "," (map (jsonMaybe . tsParseBounds)
        ["0 12 30 55", " 0  4\t8 ", "0 4 4 8", "3 9", "", "   ", "5", "0 0", "0 8 4", "-1 4", "0 x 3", "0 1.5", "0,4,8", "zz", "0 99999999999999999999", "0 2147483647"]) ++ "]")
  , ("fallback", jsonMaybe (Just tsFallback))
  ]
  where
    show' p kvs = case onsets (withControls kvs p) 0 1 of
      [(_, xs)] -> jsonMaybe (Just xs)
      _ -> "\"not exactly one event\""
    showL p kvs = case onsets (withControls kvs p) 0 1 of
      [(_, xs)] -> "[" ++ intercalate "," (map show xs) ++ "]"
      _ -> "\"not exactly one event\""
    showR p kvs = case onsets (withControls kvs p) 0 1 of
      [(_, rs)] -> "[" ++ intercalate "," ["[" ++ show lo ++ "," ++ show hi ++ "]" | (lo, hi) <- rs] ++ "]"
      _ -> "\"not exactly one event\""

main :: IO ()
main = mapM_ (\(name, json) -> putStrLn (name ++ "\t" ++ json)) cases
