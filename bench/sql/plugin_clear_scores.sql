-- Step 1 of the plugin's recalculation: forget the daily scores from :since on.
DELETE FROM gamification_scores WHERE date >= :since
