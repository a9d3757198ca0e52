seq_len=336
model_name=Linear

for pred_len in 96 192
do
  python -u run.py \
    --model $model_name \
    --seq_len $seq_len --pred_len ${pred_len}
done
