SELECT anon_1.resource_type, anon_1.resource_id 
FROM (SELECT compartment.resource_type AS resource_type, compartment.resource_id AS resource_id 
FROM compartment 
WHERE compartment.patient_id = 'p1' AND compartment.resource_type = 'Observation') AS anon_1 ORDER BY (SELECT max(index_date_1.high_us) AS max_1 
FROM index_date AS index_date_1 
WHERE index_date_1.resource_type = anon_1.resource_type AND index_date_1.resource_id = anon_1.resource_id AND index_date_1.param = 'date') DESC NULLS LAST, anon_1.resource_type, anon_1.resource_id
