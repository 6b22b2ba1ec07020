SELECT anon_1.resource_type, anon_1.resource_id 
FROM (SELECT DISTINCT index_text_1.resource_type AS resource_type, index_text_1.resource_id AS resource_id 
FROM index_text AS index_text_1 
WHERE index_text_1.resource_type = 'Condition' AND index_text_1.param = '_content' AND (index_text_1.words @@ CAST('''hjertesvikt'':* & ''bjorn'':*' AS tsquery))) AS anon_1 
WHERE EXISTS (SELECT 1 
FROM index_text AS index_text_2 
WHERE index_text_2.resource_type = 'Condition' AND (index_text_2.param || '') = '_text' AND index_text_2.resource_id = anon_1.resource_id AND (index_text_2.words @@ CAST('''pasient'':*' AS tsquery))
 LIMIT ALL OFFSET 0) ORDER BY anon_1.resource_id ASC NULLS LAST, anon_1.resource_type, anon_1.resource_id
