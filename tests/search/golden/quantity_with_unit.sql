SELECT anon_1.resource_type, anon_1.resource_id 
FROM (SELECT DISTINCT index_quantity_1.resource_type AS resource_type, index_quantity_1.resource_id AS resource_id 
FROM index_quantity AS index_quantity_1 
WHERE index_quantity_1.resource_type = 'Observation' AND index_quantity_1.param = 'value-quantity' AND (index_quantity_1.value IS NOT NULL AND index_quantity_1.value > 140.0 OR index_quantity_1.value IS NULL AND (index_quantity_1.high IS NULL OR index_quantity_1.high > 140.0)) AND index_quantity_1.system = 'http://unitsofmeasure.org' AND index_quantity_1.code = 'mm[Hg]') AS anon_1 ORDER BY anon_1.resource_id ASC NULLS LAST, anon_1.resource_type, anon_1.resource_id
