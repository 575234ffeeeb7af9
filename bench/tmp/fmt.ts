import { formatDateTime, formatDate } from '../../lib/mapping/formats';
const d = new Date(); let x=0;
for (let k=0;k<3;k++){ const t0=process.hrtime.bigint(); for(let i=0;i<100000;i++){ x+=formatDateTime(new Date(d.getTime()+i*1000)).length; } console.log('formatDateTime', Number(process.hrtime.bigint()-t0)/1e5/1e3,'us'); }
